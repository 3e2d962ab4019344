"""`--csv` on the list commands and `satellite report`: every row, streamed."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

from satellite.actor import Actor
from satellite.audit.service import record
from satellite.uow import Database


def test_list_commands_write_csv(cli: Any, db: Database, tmp_path: Path) -> None:
    assert cli("account", "create", "Acme", "--domain", "acme.example.com").code == 0
    with db.uow() as uow:
        record(uow, Actor("user", "alice"), "license.transfer", "-1+1")
        record(uow, Actor("user", "bob"), "device.remove", "PID:A,SN:1")
        uow.commit()
    for args in (("license", "list", "--account", "acme.example.com"),
                 ("license", "list", "--account", "acme.example.com", "--with-tag", "edge"),
                 ("device", "list", "--account", "acme.example.com"),
                 ("device", "list", "--account", "acme.example.com", "--tag", "rack-4"),
                 ("alert", "list", "--all"),
                 ("reservation", "list"),
                 ("reservation", "list", "--tag", "ship-7"),
                 ("audit", "list", "--user", "alice")):
        result = cli(*args, "--csv")
        assert result.code == 0, (args, result.err)
        assert result.out.splitlines()[0].count(",") >= 3
    rows = list(csv.DictReader(io.StringIO(cli("audit", "list", "--user", "alice",
                                               "--csv").out)))
    assert [r["target"] for r in rows] == ["'-1+1"]
    out = tmp_path / "audit.json"
    result = cli("report", "audit-log", "--action", "device.", "--format", "json",
                 "--out", str(out))
    assert result.code == 0, result.err
    assert [e["target"] for e in json.loads(out.read_text())["audit-log"]] == ["PID:A,SN:1"]


def test_audit_list_searches_and_refuses_bad_days(cli: Any, db: Database) -> None:
    with db.uow() as uow:
        record(uow, Actor("user", "alice"), "license.transfer", "Lab to Plant")
        record(uow, Actor("user", "bob"), "device.remove", "PID:A,SN:1")
        uow.commit()
    shown = cli("audit", "list", "--target", "plant", "--json")
    assert [e["target"] for e in json.loads(shown.out)["events"]] == ["Lab to Plant"]
    bad = cli("audit", "list", "--since", "last week")
    assert bad.code != 0 and bad.err.strip().splitlines() == [
        "satellite: error: since must be a date such as 2026-03-01"]
    missing = cli("report", "usage-history")
    assert missing.code != 0 and "per account" in missing.err

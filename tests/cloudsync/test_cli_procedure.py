"""The sync and alert commands an operator of a disconnected site runs."""

from __future__ import annotations

import json
from pathlib import Path

from satellite.actor import Actor
from satellite.clock import FixedClock
from satellite.config import Settings
from satellite.uow import Database
from tests.cloudsync.lab import make_lab


def test_the_disconnected_procedure_through_the_cli(
        cli, db: Database, settings: Settings, actor: Actor, clock: FixedClock,
        tmp_path: Path) -> None:
    lab = make_lab(db, settings, actor, clock, tmp_path)
    status = json.loads(cli("status", "--json").out)
    assert status["registration"] == "unregistered"
    assert "not registered with Central" in status["registration_note"]
    refused = cli("sync", "export", "--out", str(tmp_path / "b.bundle"))
    assert refused.code == 2 and "not registered" in refused.err

    request = tmp_path / "register.bundle"
    assert cli("sync", "register", "--out", str(request)).code == 0
    shown = cli("sync", "inspect", str(request))
    assert shown.code == 0, shown.err
    assert "a satellite's registration request" in shown.out
    assert "signature: valid, signed by the requesting satellite's key" in shown.out
    assert "account abc.xyz.com (ABC), served by this satellite" in shown.out

    lab.ingest(request)
    lab.entitle(4)
    response = lab.respond()
    dry = cli("sync", "import", "--dry-run", str(response))
    assert dry.code == 0, dry.err
    assert "Dry run: nothing was changed." in dry.out
    assert "abc.xyz.com/Lab: 1 lines added, 0 removed, 0 changed" in dry.out
    assert json.loads(cli("status", "--json").out)["registration"] == "pending"
    applied = cli("sync", "import", str(response))
    assert "registered with Central" in applied.out

    lab.report_usage("PID:SN1", 2, 1)
    batch = tmp_path / "usage.bundle"
    exported = cli("sync", "export", "--out", str(batch))
    assert "1 records, events 1-1" in exported.out
    shown = cli("sync", "inspect", str(batch))
    assert shown.code == 0, shown.err
    assert "signature: valid, signed by this satellite's key" in shown.out
    assert "fields.first_sequence: 1  <- first event's sequence number" in shown.out
    assert "event 1 at " in shown.out and "device=PID:SN1" in shown.out
    as_json = json.loads(cli("sync", "inspect", "--json", str(batch)).out)
    assert [r["seq"] for r in as_json["records"]] == [1]

    status_text = cli("sync", "status").out
    assert "registration: registered" in status_text
    assert "pending events: 1 (logged through 1, acknowledged through 0)" in status_text
    lab.ingest(batch)
    cli("sync", "import", str(lab.respond()))
    assert json.loads(cli("sync", "status", "--json").out)["pending_events"] == 0
    assert json.loads(cli("alert", "list", "--json").out) == {"alerts": []}
    assert cli("alert", "list", "--account", "nope").code == 3

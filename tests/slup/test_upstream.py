"""RUM reports to Central verbatim and ACKs back; Cisco's CSSM by file (cssm-offline, import-ack)."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

from satellite.actor import Actor
from satellite.central.ingest import satellites
from satellite.clock import FixedClock
from satellite.config import Settings
from satellite.uow import Database
from tests.cloudsync.lab import make_lab
from tests.conftest import CliResult
from tests.slup.files import AP_TAG, WLC, measurement, members, nested, report, usage_file

Cli = Callable[..., CliResult]
T0 = 1_700_000_000


def _ok(cli: Cli, *args: str) -> CliResult:
    result = cli(*args)
    assert result.code == 0, result.err
    return result


def test_reports_travel_verbatim_to_central_and_acks_come_back(
        db: Database, settings: Settings, actor: Actor, clock: FixedClock, cli: Cli,
        tmp_path: Path) -> None:
    lab = make_lab(db, settings, actor, clock, tmp_path)
    lab.registered()
    texts = [report("C9800-40-K9", "FOX1", 11, AP_TAG, [measurement(T0, T0 + 3600, 7)]),
             report("C9800-40-K9", "FOX1", 12, WLC),
             report("C9300-24T", "FCW5", 1, measurements=[measurement(T0, T0 + 60, 1)])]
    usage = tmp_path / "usage.txt"
    usage.write_bytes(usage_file(*texts))
    _ok(cli, "slup", "import", str(usage), "--account", "abc.xyz.com", "--va", "Lab")

    batch, _ = lab.export()
    shown = _ok(cli, "sync", "inspect", str(batch)).out
    assert "a Cisco device's RUM report (SLUP), carried as the device wrote it" in shown
    assert "device PID:C9800-40-K9,SN:FOX1, account abc.xyz.com, virtual account Lab, " \
           f"report 11, tag {AP_TAG}" in shown
    lab.ingest(batch)
    with sqlite3.connect(lab.central_dir / "central.db") as conn:
        stored = sorted(r[0] for r in conn.execute("SELECT report FROM rum_reports"))
    assert stored == sorted(texts)  # byte for byte, as the devices wrote them
    counted = satellites(lab.central_dir)[0]["rum_usage"]
    assert {(u["va"], u["tag"], u["device"], u["count"]) for u in counted} == {
        ("Lab", AP_TAG, "C9800-40-K9:FOX1", 7), ("Lab", WLC, "C9800-40-K9:FOX1", 1),
        ("Lab", WLC, "C9300-24T:FCW5", 1)}

    response = lab.respond()
    assert "an ACK for SLUP device PID:C9800-40-K9,SN:FOX1 of account abc.xyz.com" in _ok(
        cli, "sync", "inspect", str(response)).out
    applied = _ok(cli, "sync", "import", str(response)).out
    assert "ACKs for 2 SLUP devices (3 reports)" in applied

    listed = json.loads(_ok(cli, "device", "list", "--json").out)["devices"]
    states = {row["udi"]: row["slup"] for row in listed}
    assert states["PID:C9800-40-K9,SN:FOX1"]["awaiting_ack"] == 0
    assert states["PID:C9800-40-K9,SN:FOX1"]["last_ack_at"] is not None
    out = tmp_path / "acks"
    _ok(cli, "slup", "acks", "--va", "Lab", "--out", str(out))
    files = sorted(p.name for p in out.iterdir())
    assert files == ["ACK_C9300-24T_FCW5.txt", "ACK_C9800-40-K9_FOX1.txt"]
    ack = (out / "ACK_C9800-40-K9_FOX1.txt").read_text()
    assert ack.startswith("<smartLicense><smartLicenseRumAck><![CDATA[")
    data = json.loads(json.loads(ack.split("<![CDATA[")[1].split("]]>")[0])["data"])
    assert data["sudi"] == {"udi_pid": "C9800-40-K9", "udi_serial_number": "FOX1"}
    assert data["report_ids"] == ["11", "12"]
    single = tmp_path / "one.txt"
    _ok(cli, "slup", "ack", "PID:C9300-24T,SN:FCW5", "--out", str(single))
    assert single.read_text() == (out / "ACK_C9300-24T_FCW5.txt").read_text()
    # Every ACK handed out for a device is in the audit trail.
    audit = json.loads(_ok(cli, "audit", "list", "--json").out)
    actions = [event["action"] for event in audit.get("events", audit)]
    assert "slup.acks_given" in actions and "slup.ack_given" in actions


def test_cssm_offline_export_and_import_ack_round_trip(db: Database, actor: Actor, cli: Cli,
                                                       tmp_path: Path) -> None:
    _ok(cli, "account", "create", "Acme", "--domain", "acme.example.com")
    _ok(cli, "va", "create", "Acme", "Plant")
    texts = [report("C9300-24T", "FCW1", 1), report("C9300-24T", "FCW1", 2),
             report("IE-3400-8T2S", "FDO9", 5)]
    usage = tmp_path / "usage.txt"
    usage.write_bytes(usage_file(*texts))
    _ok(cli, "slup", "import", str(usage), "--account", "Acme", "--va", "Plant")
    upload = tmp_path / "UD_SA_Acme.tar.gz"
    _ok(cli, "slup", "export", "--va", "Plant", "--format", "cssm-offline", "--out", str(upload))

    files = members(upload.read_bytes())
    assert "manifest.mf" in files
    devices = {name: data for name, data in files.items() if "/dev_" in name}
    assert len(devices) == 2 and all(n.startswith("UD_VA_Plant_") for n in devices)
    # What CSSM receives is what the devices wrote: import it elsewhere and compare.
    again = tmp_path / "again.tar.gz"
    again.write_bytes(upload.read_bytes())
    _ok(cli, "account", "create", "Lab2", "--domain", "lab2.example.com")
    seen = json.loads(_ok(cli, "slup", "import", str(again), "--account", "Lab2", "--va",
                          "Default", "--json", "--dry-run").out)
    assert seen["refused"] and seen["new"] == 0  # devices belong to Acme: never moved

    # CSSM answers with ACK_dev_<n> files; the one for FDO9 names no SUDI, only its file.
    by_serial = {("FCW1" if b"FCW1" in data else "FDO9"): name.rsplit("/", 1)[1]
                 for name, data in devices.items()}
    ack_sudi = json.dumps({"data": json.dumps({"sudi": {"udi_pid": "C9300-24T",
                                                         "udi_serial_number": "FCW1"},
                                                "report_id": 1}), "signature": {}})
    ack_plain = json.dumps({"data": "{\"status\": \"ok\"}", "signature": {}})
    archive = nested({}, "ACK_UD_VA_Plant_1.tar.gz", {
        "ACK_" + by_serial["FCW1"]: f"<smartLicense><smartLicenseRumAck><![CDATA[{ack_sudi}]]>"
                                    "</smartLicenseRumAck><smartLicensePolicy>p"
                                    "</smartLicensePolicy></smartLicense>".encode(),
        "ACK_" + by_serial["FDO9"]: f"<smartLicense><smartLicenseRumAck><![CDATA[{ack_plain}]]>"
                                    "</smartLicenseRumAck></smartLicense>".encode()})
    ack_file = tmp_path / "ACK_UD_SA_Acme.tar.gz"
    ack_file.write_bytes(archive)
    done = json.loads(_ok(cli, "slup", "import-ack", str(ack_file), "--json").out)
    assert sorted(done["devices"]) == ["PID:C9300-24T,SN:FCW1", "PID:IE-3400-8T2S,SN:FDO9"]
    assert done["reports"] == 2 and done["policies"] == 1 and not done["unmatched"]
    shown = json.loads(_ok(cli, "device", "show", "PID:C9300-24T,SN:FCW1", "--json").out)
    assert shown["slup"]["awaiting_ack"] == 1  # CSSM acknowledged report 1 only
    out = tmp_path / "fdo9.txt"
    _ok(cli, "slup", "ack", "PID:IE-3400-8T2S,SN:FDO9", "--out", str(out))
    assert ack_plain in out.read_text()
    trail = _ok(cli, "audit", "list", "--json").out
    assert "slup.export" in trail and "slup.import_ack" in trail

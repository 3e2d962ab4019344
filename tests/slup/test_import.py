"""Importing SLUP usage files: accounting, idempotence, refusals, cross-tenant safety."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select

from satellite.actor import Actor
from satellite.slup.models import RumReportRow
from satellite.uow import Database
from tests.conftest import CliResult
from tests.licenses.helpers import add_line, make_account
from tests.slup.files import AP_TAG, WLC, measurement, nested, report, usage_file

Cli = Callable[..., CliResult]
DAY = 86_400
T0 = 1_700_000_000
NEXUS_TAG = "regid.2019-06.com.cisco.LAN_Nexus9300_XF2,1.0_3c6e9d2a-5b1f-4e7a-8c9d-0a1b2c3d4e5f"


def _write(tmp_path: Path, name: str, data: bytes) -> str:
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def _ok(cli: Cli, *args: str) -> dict:
    result = cli(*args, "--json")
    assert result.code == 0, result.err
    return json.loads(result.out)


def _counter(cli: Cli, tag: str, va: str = "Lab") -> dict:
    rows = _ok(cli, "license", "list", "--account", "Acme", "--va", va)
    found = [r for r in rows["licenses"] if r["license"] == tag]
    return found[0]


def _device(cli: Cli, udi: str) -> dict:
    return _ok(cli, "device", "show", udi)


def test_wireless_controller_access_points_grow_and_go_out_of_compliance(
        db: Database, actor: Actor, cli: Cli, tmp_path: Path) -> None:
    vas = make_account(db, actor)
    add_line(db, vas["Lab"], AP_TAG, 10)
    add_line(db, vas["Lab"], WLC, 1)
    aps = [f"AIR-AP-{n}" for n in range(12)]
    growing = [measurement(T0, T0 + DAY, 5, added_sudi_list=aps[:5]),
               measurement(T0 + DAY, T0 + 2 * DAY, 8, added_sudi_list=aps[5:8]),
               measurement(T0 + 2 * DAY, T0 + 3 * DAY, 12, added_sudi_list=aps[8:],
                           removed_sudi_list=["AIR-AP-OLD"])]
    usage = usage_file(report("C9800-40-K9", "FOX2401A1B2", 101, AP_TAG, growing),
                       report("C9800-40-K9", "FOX2401A1B2", 102, WLC))
    summary = _ok(cli, "slup", "import", _write(tmp_path, "usage.txt", usage),
                  "--account", "Acme", "--va", "Lab")
    assert summary["new"] == 2 and summary["known"] == 0
    assert summary["devices"]["PID:C9800-40-K9,SN:FOX2401A1B2"]["created"] is True
    assert summary["tags"] == {AP_TAG: 1, WLC: 1}

    counter = _counter(cli, AP_TAG)
    assert counter["inUse"] == 12 and counter["status"] == "Out Of Compliance"
    assert _counter(cli, WLC)["status"] == "In Compliance"
    device = _device(cli, "PID:C9800-40-K9,SN:FOX2401A1B2")
    assert device["reporting"] == "slup" and device["status"] == "Out Of Compliance"
    assert device["usage"] == {AP_TAG: 12, WLC: 1}
    shown = {r["report_id"]: r for r in device["slup"]["reports"]}
    assert shown["101"]["count"] == 12 and shown["101"]["measurements"][2]["added"] == aps[8:]
    assert shown["101"]["measurements"][2]["removed"] == ["AIR-AP-OLD"]

    # An older report arriving later does not roll the count back; the same file again
    # changes nothing.
    older = usage_file(report("C9800-40-K9", "FOX2401A1B2", 100, AP_TAG,
                              [measurement(T0 - DAY, T0, 3)]))
    again = _ok(cli, "slup", "import", _write(tmp_path, "old.txt", older),
                _write(tmp_path, "usage2.txt", usage), "--account", "Acme", "--va", "Lab")
    assert (again["new"], again["known"]) == (1, 2)
    assert _counter(cli, AP_TAG)["inUse"] == 12


def test_a_malformed_file_refuses_the_whole_import(db: Database, actor: Actor, cli: Cli,
                                                   tmp_path: Path) -> None:
    make_account(db, actor)
    good = _write(tmp_path, "good.txt", usage_file(report("C9300-24T", "FCW1", 1)))
    bad_report = json.loads(report("C9300-24T", "FCW2", 2))
    bad_report["payload"] = ["a list, not an object"]
    bad = _write(tmp_path, "bad.txt", usage_file(report("C9300-24T", "FCW3", 3),
                                                 json.dumps(bad_report)))
    result = cli("slup", "import", good, bad, "--account", "Acme", "--va", "Lab")
    assert result.code != 0
    assert "bad.txt: report 2: payload must be a JSON object or a string holding one" \
        in result.err
    assert "Traceback" not in result.err
    assert _ok(cli, "device", "list")["total"] == 0


def test_dry_run_records_nothing_and_other_elements_are_named(
        db: Database, actor: Actor, cli: Cli, tmp_path: Path) -> None:
    make_account(db, actor)
    path = _write(tmp_path, "u.txt", usage_file(
        report("C9300-24T", "FCW1", 1), extra="<smartLicensePolicy>x</smartLicensePolicy>"
                                              "<smartLicenseRumAck>y</smartLicenseRumAck>"))
    summary = _ok(cli, "slup", "import", path, "--account", "Acme", "--va", "Lab", "--dry-run")
    assert summary["new"] == 1 and summary["dryRun"] is True
    assert summary["skipped"] == {"smartLicensePolicy": 1, "smartLicenseRumAck": 1}
    assert _ok(cli, "device", "list")["total"] == 0
    text = cli("slup", "import", path, "--account", "Acme", "--va", "Lab")
    assert "skipped: 1 <smartLicensePolicy>, 1 <smartLicenseRumAck>" in text.out


def test_a_device_of_another_account_is_refused_and_left_alone(
        db: Database, actor: Actor, cli: Cli, tmp_path: Path) -> None:
    make_account(db, actor)
    make_account(db, actor, "Other", "other.example.com")
    mine = _write(tmp_path, "mine.txt", usage_file(report("C9300-24T", "FCW9", 1)))
    _ok(cli, "slup", "import", mine, "--account", "Other", "--va", "Lab")
    theirs = _write(tmp_path, "theirs.txt", usage_file(
        report("C9300-24T", "FCW9", 2, measurements=[measurement(T0, T0 + DAY, 40)]),
        report("C9300-48P", "FCW10", 1)))
    summary = _ok(cli, "slup", "import", theirs, "--account", "Acme", "--va", "Ops")
    assert "PID:C9300-24T,SN:FCW9" in summary["refused"]
    assert summary["new"] == 1
    device = _device(cli, "PID:C9300-24T,SN:FCW9")
    assert device["account"] == "Other" and device["va"] == "Lab"
    assert [r["report_id"] for r in device["slup"]["reports"]] == ["1"]
    refusals = [e for e in json.loads(cli("audit", "list", "--json").out)["events"]
                if e["action"] == "slup.refuse_device"]
    assert len(refusals) == 2  # in the importing account and in the device's own
    alerts = _ok(cli, "alert", "list", "--account", "Other")
    assert any(a["kind"] == "device_takeover_refused" for a in alerts["alerts"])


def test_offline_archive_and_bare_reports_and_flags(db: Database, actor: Actor, cli: Cli,
                                                    tmp_path: Path) -> None:
    make_account(db, actor)
    jumped = report("ISR4331/K9", "FDO1", 7, measurements=[
        measurement(T0, T0 + DAY, 1, clock_change_delta=-3600),
        measurement(T0 + DAY, T0 + DAY - 10, 1)], new_style=False)
    bare = f"<RUMReport><![CDATA[{report('ISR4331/K9', 'FDO2', 8)}]]></RUMReport>".encode()
    archive = nested({}, "UD_SA_Acme_1700000000.tar.gz",
                     {"dev_1_1700000000.txt": usage_file(jumped),
                      "dev_2_1700000000.txt": bare})
    summary = _ok(cli, "slup", "import", _write(tmp_path, "offline.tar.gz", archive),
                  "--account", "Acme", "--va", "Lab")
    assert summary["new"] == 2 and len(summary["files"]) == 2
    assert summary["flagged"] == [{"udi": "PID:ISR4331/K9,SN:FDO1", "report_id": "7",
                                   "flags": ["clock_change", "backwards"]}]


def test_slup_devices_can_be_removed_and_report_again(db: Database, actor: Actor, cli: Cli,
                                                      tmp_path: Path) -> None:
    vas = make_account(db, actor)
    add_line(db, vas["Lab"], WLC, 5)
    path = _write(tmp_path, "u.txt", usage_file(report("C9300-24T", "FCW1", 1),
                                                report("C9300-24T", "FCW2", 1)))
    _ok(cli, "slup", "import", path, "--account", "Acme", "--va", "Lab")
    assert _counter(cli, WLC)["inUse"] == 2
    # Neither holds a satellite certificate: removing both must not trip over that.
    for serial in ("FCW1", "FCW2"):
        result = cli("device", "remove", f"PID:C9300-24T,SN:{serial}")
        assert result.code == 0, result.err
    assert _counter(cli, WLC)["inUse"] == 0
    later = _write(tmp_path, "later.txt", usage_file(report(
        "C9300-24T", "FCW1", 2, measurements=[measurement(T0 + DAY, T0 + 2 * DAY, 1)])))
    _ok(cli, "slup", "import", later, "--account", "Acme", "--va", "Lab")
    assert _device(cli, "PID:C9300-24T,SN:FCW1")["status"] == "Authorized"
    assert _counter(cli, WLC)["inUse"] == 1


def test_reports_inside_a_wrapper_element_are_read(db: Database, actor: Actor, cli: Cli,
                                                   tmp_path: Path) -> None:
    make_account(db, actor)
    wrapped = (b"<smartLicense><RUMReports>"
               + usage_file(report("C9300-24T", "FCW1", 1), report("C9300-24T", "FCW1", 2))
               .removeprefix(b"<smartLicense>").removesuffix(b"</smartLicense>")
               + b"</RUMReports><smartLicensePolicy><x/></smartLicensePolicy></smartLicense>")
    summary = _ok(cli, "slup", "import", _write(tmp_path, "w.txt", wrapped),
                  "--account", "Acme", "--va", "Lab")
    assert summary["new"] == 2 and summary["skipped"] == {"smartLicensePolicy": 1}


def test_a_nexus_report_with_its_payload_as_an_object_is_read_and_kept_verbatim(
        db: Database, actor: Actor, cli: Cli, tmp_path: Path) -> None:
    # NX-OS writes the payload as an object, its signature inside asset_identification and no
    # signature beside it, pretty-printed, a long base64 value wrapped over lines.
    vas = make_account(db, actor)
    add_line(db, vas["Lab"], NEXUS_TAG, 2)
    text = """{
"payload":{
"asset_identification":{
"asset":{
"name":"regid.2017-11.com.cisco.Nexus_9300,1.0_5b7e3b3c-0c5e-4b6a-9d8e-2f1a6c7d8e9f"
},
"instance":{
"sudi":{
"udi_pid":"N9K-C93180YC-FX",
"udi_serial_number":"FDO2233X0AB"
},
"product_instance_identifier":"0b5c1f3e-8a7d-4c2e-9f61-3d4e5a6b7c8d"
},
"signature":{
"signing_type":"builtin",
"key":"00000000",
"value":"QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9w
cXJzdHV2d3h5ejAxMjM0NTY3ODk="
}
},
"meta":{
"entitlement_tag":"NEXUS_TAG",
"report_id":16283555555,
"software_version":"10.2(3)"
},
"measurements":[
{
"log_time":1700086400,
"metric_name":"ENTITLEMENT",
"start_time":1700000000,
"end_time":1700086400,
"sample_interval":3600,
"num_samples":24,
"meta":{"termination_reason":"CurrentState"},
"value":{"type":"COUNT","value":"1"}
}
]
}
}
""".replace("NEXUS_TAG", NEXUS_TAG)
    data = b'<?xml version="1.0" encoding="UTF-8"?>\n<smartLicense>\n<RUMReport>\n<![CDATA[\n' \
        + text.encode() + b"]]>\n</RUMReport>\n</smartLicense>\n"
    path = _write(tmp_path, "nexus.txt", data)
    summary = _ok(cli, "slup", "import", path, "--account", "Acme", "--va", "Lab")
    assert summary["new"] == 1
    assert _counter(cli, NEXUS_TAG)["inUse"] == 1
    device = _device(cli, "PID:N9K-C93180YC-FX,SN:FDO2233X0AB")
    assert device["reporting"] == "slup" and device["usage"] == {NEXUS_TAG: 1}
    again = _ok(cli, "slup", "import", path, "--account", "Acme", "--va", "Lab")
    assert again["new"] == 0 and again["known"] == 1
    with db.reader() as uow:
        kept = uow.session.scalars(select(RumReportRow.text)).all()
    assert kept == ["\n\n" + text + "\n"]  # the element's whole text, as written

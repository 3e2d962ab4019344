from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from satellite.cloudsync.records import Entitlement
from satellite.uow import Database
from tests.cloudsync.conftest import ResponseWriter, dump
from tests.conftest import CliResult

Cli = Callable[..., CliResult]
TAG = "regid.2024-01.com.example.router-advantage"
LINES = [
    Entitlement(line_id="L1", account="abc.xyz.com", va="Lab", tag=TAG,
                display_name="Router Advantage", license_type="PERPETUAL",
                quantity=10).to_record(),
    Entitlement(line_id="L2", account="far.example.com", va=None, tag="regid.y",
                display_name="regid.y", license_type="DEMO", quantity=1,
                export_controlled=True).to_record(),
]


@pytest.fixture
def site(abc: Database) -> Database:
    return abc


def test_inspect_says_what_the_file_holds_without_applying_it(
        cli: Cli, site: Database, response: ResponseWriter, satellite_id: str) -> None:
    path = response(LINES, serial=4)
    before = dump(site)
    result = cli("sync", "inspect", str(path))
    assert result.code == 0, result.err
    assert "holds a response from Central (bundle format version 1)" in result.out
    assert f"to: satellite {satellite_id} (this satellite)" in result.out
    assert "serial: 4 (newer than the last applied here, 0)" in result.out
    assert "signature: valid, signed by Central's key" in result.out
    assert (f"line L1: 10 x {TAG} (Router Advantage), PERPETUAL, for account abc.xyz.com, "
            "virtual account Lab") in result.out
    assert ("line L2: 1 x regid.y, DEMO, for account far.example.com, Default virtual account, "
            "export-controlled") in result.out
    assert dump(site) == before

    as_json = json.loads(cli("sync", "inspect", str(path), "--json").out)
    assert as_json["header"]["serial"] == 4 and as_json["signature"]["valid"] is True
    assert as_json["records"] == LINES and as_json["problem"] is None


def test_inspect_of_a_modified_file_shows_it_and_exits_non_zero(
        cli: Cli, site: Database, response: ResponseWriter) -> None:
    path = response(LINES, serial=4)
    data = bytearray(path.read_bytes())
    data[-12] ^= 0x01
    path.write_bytes(bytes(data))
    result = cli("sync", "inspect", str(path))
    assert result.code == 6
    assert "signature: NOT VALID: the payload" in result.out
    assert result.err.count("\n") == 1


def test_import_reports_what_it_did(cli: Cli, site: Database, response: ResponseWriter) -> None:
    result = cli("sync", "import", str(response(LINES, serial=1)))
    assert result.code == 0, result.err
    assert "entitlement lines: 1 added, 0 updated, 0 unchanged, 0 removed" in result.out
    assert "created virtual account abc.xyz.com/Lab, named by Central" in result.out
    assert "held 1 line for domains with no Active account" in result.out
    assert "`satellite account held`): far.example.com" in result.out
    again = cli("sync", "import", str(response([], serial=2)), "--json")
    assert json.loads(again.out)["entitlements"]["removed"] == 1
    status = json.loads(cli("status", "--json").out)
    assert status["sync"]["last_response_serial"] == "2"


def test_import_without_an_anchor_is_refused(cli: Cli, db: Database,
                                              response: ResponseWriter) -> None:
    result = cli("sync", "import", str(response(LINES, serial=1)))
    assert result.code == 2
    assert result.err == ("satellite: error: no Central key is configured: "
                          "run `satellite init --central-key FILE`\n")


def test_import_of_a_missing_file_is_one_line(cli: Cli, site: Database, tmp_path: Path) -> None:
    result = cli("sync", "import", str(tmp_path / "nope.bundle"))
    assert result.code == 2 and result.err.count("\n") == 1 and "cannot read" in result.err

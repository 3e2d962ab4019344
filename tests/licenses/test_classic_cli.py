"""The whole classic path through the two commands an operator runs: `satellite-central
entitle-classic`, respond, `satellite sync import`, `satellite classic convert`, `sync export`,
Central ingest, respond, import: the pooled lines are there and the PAK is converted."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from satellite.actor import Actor
from satellite.central.cli import main as central_main
from satellite.clock import FixedClock
from satellite.config import Settings
from satellite.uow import Database
from tests.cloudsync.lab import make_lab

SMART = "regid.2024-01.com.example.router-security"


def _central(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    capsys.readouterr()
    with pytest.raises(SystemExit) as exc:
        central_main(list(args))
    out, err = capsys.readouterr()
    return int(exc.value.code or 0), out, err


def test_classic_licenses_from_central_to_pooled_lines_through_the_cli(
        cli, db: Database, settings: Settings, actor: Actor, clock: FixedClock,
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lab = make_lab(db, settings, actor, clock, tmp_path)
    lab.registered()
    d = str(lab.central_dir)
    code, out, err = _central(capsys, "entitle-classic", "--dir", d, "--account", "abc.xyz.com",
                              "--pak", "3300J1234", "--sku", "L-SEC-K9", "--quantity", "4",
                              "--tag", SMART)
    assert code == 0, err
    code, _, err = _central(capsys, "entitle-classic", "--dir", d, "--account", "abc.xyz.com",
                            "--pak", "3300J1234", "--sku", "L-SEC-K9", "--quantity", "1",
                            "--tag", SMART)
    assert code != 0 and err.count("\n") == 1 and "already has PAK 3300J1234" in err
    response = tmp_path / "r1.bundle"
    assert _central(capsys, "respond", "--dir", d, "--satellite", lab.satellite_id,
                    "--out", str(response))[0] == 0
    shown = cli("sync", "inspect", str(response))
    assert "classic license PAK 3300J1234 SKU L-SEC-K9: 4 (converted 0)" in shown.out
    assert "fields.classic_licenses: 1  <- number of classic (PAK) licenses" in shown.out
    applied = cli("sync", "import", str(response))
    assert "classic licenses: 1 added" in applied.out, applied.err

    listed = json.loads(cli("classic", "list", "abc.xyz.com", "--json").out)
    assert listed["classicLicenses"] == [{
        "pak": "3300J1234", "sku": "L-SEC-K9", "license": SMART, "virtualAccount": None,
        "quantity": 4, "converted": 0, "pending": 0, "unconverted": 4, "convertible": 4,
        "deviceUdi": None}]
    moved = cli("classic", "transfer", "abc.xyz.com", "--pak", "3300J1234", "--sku", "L-SEC-K9",
                "--to", "Lab")
    assert moved.code == 0 and "to Lab" in moved.out
    refused = cli("classic", "convert", "abc.xyz.com", "--pak", "3300J1234", "--sku",
                  "L-SEC-K9", "--quantity", "5")
    assert refused.code != 0 and "4 left to convert" in refused.err
    assert refused.err.count("\n") == 1
    done = json.loads(cli("classic", "convert", "abc.xyz.com", "--pak", "3300J1234", "--sku",
                          "L-SEC-K9", "--quantity", "3", "--json").out)
    assert done["status"] == "Pending" and done["virtualAccount"] == "Lab"

    batch = tmp_path / "batch.bundle"
    assert cli("sync", "export", "--out", str(batch)).code == 0
    shown = cli("sync", "inspect", str(batch))
    assert "to convert 3 x classic license PAK 3300J1234 SKU L-SEC-K9" in shown.out
    code, out, err = _central(capsys, "ingest", "--dir", d, str(batch))
    assert code == 0 and "completed" in out, err
    response = tmp_path / "r2.bundle"
    _central(capsys, "respond", "--dir", d, "--satellite", lab.satellite_id, "--out",
             str(response))
    assert "conversions: 1 completed" in cli("sync", "import", str(response)).out

    [item] = json.loads(cli("classic", "list", "abc.xyz.com", "--va", "Lab",
                            "--json").out)["classicLicenses"]
    assert (item["converted"], item["pending"], item["convertible"]) == (3, 0, 1)
    [conversion] = json.loads(cli("classic", "conversions", "abc.xyz.com",
                                  "--json").out)["conversions"]
    assert conversion["status"] == "Completed" and conversion["lineId"]
    pools = json.loads(cli("license", "list", "--account", "abc.xyz.com", "--tag", SMART,
                           "--json").out)["licenses"]
    assert [(p["virtualAccount"], p["quantity"]) for p in pools] == [("Lab", 3)]
    code, out, _ = _central(capsys, "classic-licenses", "--dir", d, "--json")
    assert json.loads(out)["classicLicenses"][0]["converted"] == 3

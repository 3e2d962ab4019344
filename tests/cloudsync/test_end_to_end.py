"""Central to satellite with the real console scripts, as an operator would run them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from satellite.bootstrap import database
from satellite.config import Settings
from satellite.db import make_engine
from tests.cloudsync.conftest import dump

BIN = Path(sys.executable).parent
TAG = "regid.2024-01.com.example.router-advantage"

pytestmark = pytest.mark.e2e


def run(settings: Settings, tool: str, *args: str,
        ok: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SATELLITE_")}
    env["SATELLITE_DATA_DIR"] = str(settings.data_dir)
    if settings.database_url:
        env["SATELLITE_DATABASE_URL"] = settings.database_url
    result = subprocess.run([str(BIN / tool), *args], env=env, capture_output=True, text=True,
                            timeout=120, check=False)
    if ok:
        assert result.returncode == 0, result.stderr
    return result


def test_entitlements_travel_from_central_to_the_satellite(
        settings: Settings, tmp_path: Path) -> None:
    central = tmp_path / "central"
    run(settings, "satellite-central", "init", "--dir", str(central))
    run(settings, "satellite", "init", "--central-key", str(central / "central.pub"))
    satellite_id = json.loads(run(settings, "satellite", "status", "--json").stdout)["satellite_id"]
    run(settings, "satellite", "account", "create", "ABC", "--domain", "abc.xyz.com")
    run(settings, "satellite-central", "entitle", "--dir", str(central), "--account",
        "abc.xyz.com", "--va", "Lab", "--tag", TAG, "--quantity", "10", "--type", "PERPETUAL")
    bundle = tmp_path / "response.bundle"
    run(settings, "satellite-central", "respond", "--dir", str(central), "--satellite",
        satellite_id, "--out", str(bundle))

    imported = run(settings, "satellite", "sync", "import", str(bundle))
    assert "1 added" in imported.stdout

    listed = json.loads(run(settings, "satellite", "license", "list", "--json").stdout)
    assert listed["totalRecords"] == 1
    (pool,) = listed["licenses"]
    assert (pool["license"], pool["virtualAccount"]) == (TAG, "Lab")
    assert (pool["quantity"], pool["available"], pool["status"]) == (10, 10, "In Compliance")
    db = database(make_engine(settings.effective_database_url))
    try:
        before = dump(db)

        again = run(settings, "satellite", "sync", "import", str(bundle), ok=False)
        assert again.returncode != 0
        assert again.stderr.count("\n") == 1 and "replay or a rollback" in again.stderr

        data = bytearray(bundle.read_bytes())
        data[len(data) // 2] ^= 0x01
        changed = tmp_path / "changed.bundle"
        changed.write_bytes(bytes(data))
        refused = run(settings, "satellite", "sync", "import", str(changed), ok=False)
        assert refused.returncode != 0
        assert refused.stderr.count("\n") == 1 and refused.stderr.startswith("satellite: error:")
        assert dump(db) == before
    finally:
        db.dispose()

"""End to end: classic (PAK) licenses of a real `satellite serve`, seen, moved and converted
through the REST API and by a device's own report, converted by Central through sync files."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from satellite.config import Settings
from tests.serving import run_satellite, satellite_env, serving

pytestmark = pytest.mark.e2e
SMART = "regid.2024-01.com.example.router-security"
DOMAIN = "abc.xyz.com"
BIN = Path(sys.executable).parent


def _central(*args: str) -> str:
    result = subprocess.run([str(BIN / "satellite-central"), *args], capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, (args, result.stderr)
    return result.stdout


def _agent(state: Path, *args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "satellite.agent", "--state", str(state),
                             "--retries", "1", *args], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_classic_licenses_are_converted_by_the_operator_and_by_a_device(
        settings: Settings, tmp_path: Path) -> None:
    central = tmp_path / "central"
    d = str(central)
    env = satellite_env(settings.data_dir, settings.database_url)
    _central("init", "--dir", d)
    run_satellite(env, "init", "--central-key", str(central / "central.pub"))
    satellite_id = json.loads(run_satellite(env, "status", "--json").stdout)["satellite_id"]
    run_satellite(env, "account", "create", "ABC", "--domain", DOMAIN)
    run_satellite(env, "va", "create", DOMAIN, "Lab")
    run_satellite(env, "va", "create", DOMAIN, "Plant")
    _central("entitle-classic", "--dir", d, "--account", DOMAIN, "--pak", "3300J1", "--sku",
             "L-SEC-K9", "--quantity", "5", "--tag", SMART)
    _central("entitle-classic", "--dir", d, "--account", DOMAIN, "--pak", "3300J2", "--sku",
             "L-SEC-K9", "--quantity", "1", "--tag", SMART, "--va", "Lab", "--device",
             "C9300-24T:FOC9")

    def round_trip(name: str, export: bool = True) -> None:
        if export:
            batch = tmp_path / f"{name}-batch.bundle"
            run_satellite(env, "sync", "export", "--out", str(batch))
            _central("ingest", "--dir", d, str(batch))
        response = tmp_path / f"{name}-response.bundle"
        _central("respond", "--dir", d, "--satellite", satellite_id, "--out", str(response))
        run_satellite(env, "sync", "import", str(response))

    registration = tmp_path / "register.bundle"
    run_satellite(env, "sync", "register", "--out", str(registration))
    _central("ingest", "--dir", d, str(registration))
    round_trip("first", export=False)
    token = run_satellite(env, "token", "create", DOMAIN, "Lab").stdout.strip()
    client = json.loads(run_satellite(env, "apiclient", "create", DOMAIN, "--json").stdout)

    with serving(env, tmp_path) as server:
        bearer = requests.post(server.url + "/oauth/token", timeout=10, json={
            "grant_type": "client_credentials", "client_id": client["client_id"],
            "client_secret": client["client_secret"]}).json()["access_token"]
        api = f"{server.url}/api/v1/accounts/{DOMAIN}"
        auth = {"Authorization": f"Bearer {bearer}"}

        def get(path: str) -> dict[str, object]:
            answer = requests.get(api + path, headers=auth, timeout=10)
            assert answer.status_code == 200, answer.text
            result: dict[str, object] = answer.json()
            return result

        def post(path: str, body: dict[str, object], status: int = 200) -> dict[str, object]:
            answer = requests.post(api + path, headers=auth, json=body, timeout=10)
            assert answer.status_code == status, answer.text
            result: dict[str, object] = answer.json()
            return result

        listed = get("/classic-licenses")["classicLicenses"]
        assert [(c["pak"], c["virtualAccount"], c["deviceUdi"]) for c in listed] == [  # type: ignore[index, union-attr]
            ("3300J1", None, None), ("3300J2", "Lab", "C9300-24T:FOC9")]
        moved = post("/classic-licenses/transfer", {"pak": "3300J1", "sku": "L-SEC-K9",
                                                   "targetVirtualAccount": "Plant"})
        assert moved["classicLicense"]["virtualAccount"] == "Plant"  # type: ignore[index]
        assert [c["pak"] for c in get("/virtual-accounts/Plant/classic-licenses")[
            "classicLicenses"]] == ["3300J1"]  # type: ignore[union-attr]
        refused = post("/classic-licenses/convert", {"pak": "3300J1", "sku": "L-SEC-K9",
                                                    "quantity": 6}, 409)
        assert "5 left to convert" in str(refused["error"])
        asked = post("/classic-licenses/convert", {"pak": "3300J1", "sku": "L-SEC-K9",
                                                  "quantity": 2})
        assert asked["conversion"]["status"] == "Pending"  # type: ignore[index]

        # A device upgraded to Smart Licensing still holds its node-locked classic license.
        device = tmp_path / "device"
        _agent(device, "register", "--url", server.url, "--token", token, "--pid", "C9300-24T",
               "--sn", "FOC9")
        answer = json.loads(_agent(device, "report", "--classic", "3300J2:L-SEC-K9", "--json"))
        assert answer["status"] == "OUT_OF_COMPLIANCE"
        assert "not converted to Smart Licensing yet" in answer["classicLicenses"][0]["reason"]
        pending = get("/classic-conversions")["conversions"]
        assert sorted((c["origin"], c["status"]) for c in pending) == [  # type: ignore[union-attr]
            ("device", "Pending"), ("operator", "Pending")]

        round_trip("second")

        done = get("/classic-conversions")["conversions"]
        assert {c["status"] for c in done} == {"Completed"}  # type: ignore[union-attr]
        by_pak = {c["pak"]: c for c in get("/classic-licenses")["classicLicenses"]}  # type: ignore[union-attr]
        assert by_pak["3300J1"]["converted"] == 2 and by_pak["3300J2"]["converted"] == 1
        pools = get("/licenses")["licenses"]
        assert sorted((p["virtualAccount"], p["quantity"]) for p in pools  # type: ignore[union-attr]
                      if p["license"] == SMART) == [("Lab", 1), ("Plant", 2)]
        again = json.loads(_agent(device, "report", f"{SMART}=1", "--classic",
                                  "3300J2:L-SEC-K9", "--json"))
        assert again["status"] == "AUTHORIZED", again

"""End to end over a real `satellite serve`: a system administrator restricts an account's
export-control category through the REST API; the agent then hears NOT_AUTHORIZED with the
reason, no token allows export control, and a SLUP device shows its evaluation."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from satellite.central.cli import main as central_main
from satellite.config import Settings
from tests.conftest import CliResult
from tests.serving import satellite_env, serving
from tests.slup.files import AP_TAG, report, usage_file

pytestmark = pytest.mark.e2e
SECRET = "regid.2024-01.com.example.crypto-export"
PASSWORD = "amber-heron-77-valley"
A = "/api/v1/accounts/ABC"


def _agent(state: Path, *args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "satellite.agent", "--state", str(state),
                             "--retries", "1", *args], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_a_restricted_category_over_http(settings: Settings, tmp_path: Path,
                                         cli: Callable[..., CliResult]) -> None:
    env = satellite_env(settings.data_dir, settings.database_url)
    central = tmp_path / "central"

    def central_cli(*args: str) -> None:
        with pytest.raises(SystemExit) as done:
            central_main(list(args))
        assert done.value.code in (0, None)

    def run(*args: str) -> CliResult:
        result = cli(*args)
        assert result.code == 0, result.err
        return result

    central_cli("init", "--dir", str(central))
    run("init", "--central-key", str(central / "central.pub"))
    satellite_id = json.loads(run("status", "--json").out)["satellite_id"]
    run("account", "create", "ABC", "--domain", "abc.xyz.com")
    run("va", "create", "ABC", "Lab")
    central_cli("entitle", "--dir", str(central), "--account", "abc.xyz.com", "--va", "Lab",
                "--tag", SECRET, "--quantity", "5", "--type", "PERPETUAL", "--export-controlled")
    bundle = tmp_path / "response.bundle"
    central_cli("respond", "--dir", str(central), "--satellite", satellite_id, "--out",
                str(bundle))
    run("sync", "import", str(bundle))
    token = run("token", "create", "ABC", "Lab", "--export-controlled").out.strip().split()[-1]
    usage = tmp_path / "usage.txt"
    usage.write_bytes(usage_file(report("C9800-40-K9", "EVAL1", 1, AP_TAG)))
    run("slup", "import", str(usage), "--account", "ABC", "--va", "Lab")
    password_file = tmp_path / "root.pw"
    password_file.write_text(PASSWORD)
    run("user", "create", "root2", "--system-admin", "--password-file", str(password_file))
    made = json.loads(run("apiclient", "create", "ABC", "--json").out)
    creds = {"client_id": made["client_id"], "client_secret": made["client_secret"]}
    state = tmp_path / "device"

    with serving(env, tmp_path) as server:
        url = server.url
        _agent(state, "register", "--url", url, "--token", token, "--pid", "C9300",
               "--sn", "EXP1")
        assert f"{SECRET}\t1\tAUTHORIZED" in _agent(state, "report", f"{SECRET}=1")

        app = {"Authorization": "Bearer " + requests.post(
            url + "/oauth/token", timeout=10,
            json={"grant_type": "client_credentials", **creds}).json()["access_token"]}
        first = requests.post(url + "/oauth/token", timeout=10, json={
            "grant_type": "password", "username": "root2", "password": PASSWORD, **creds})
        changed = requests.post(url + "/api/v1/me/password", timeout=10, headers={
            "Authorization": f"Bearer {first.json()['access_token']}"}, json={
            "oldPassword": PASSWORD, "newPassword": PASSWORD + " anew"})
        assert changed.status_code == 200, changed.text
        admin = {"Authorization": "Bearer " + requests.post(url + "/oauth/token", timeout=10, json={
            "grant_type": "password", "username": "root2", "password": PASSWORD + " anew",
            **creds}).json()["access_token"]}

        # The account's own administrator may not change it; a system administrator may.
        refused = requests.post(url + A + "/export-category", headers=app, timeout=10,
                                json={"exportCategory": "C"})
        assert refused.status_code == 403 and "system administrator" in refused.json()["error"]
        bad = requests.post(url + A + "/export-category", headers=admin, timeout=10,
                            json={"exportCategory": "Q"})
        assert bad.status_code == 400
        done = requests.post(url + A + "/export-category", headers=admin, timeout=10,
                             json={"exportCategory": "C"})
        assert done.status_code == 200, done.text
        assert done.json()["accounts"][0]["exportCategory"] == "C"
        listed = requests.get(url + "/api/v1/accounts", headers=app, timeout=10).json()
        assert listed["accounts"][0]["exportCategory"] == "C"

        no_token = requests.post(url + A + "/virtual-accounts/Lab/tokens", headers=app,
                                 timeout=10, json={"description": "x", "expiresAfterDays": 30,
                                                   "exportControlled": "Allowed"})
        assert no_token.status_code == 403
        assert "export-control category C" in no_token.json()["error"]

        answer = _agent(state, "report", f"{SECRET}=1")
        assert f"{SECRET}\t1\tNOT_AUTHORIZED\texport-controlled: the account's export-control " \
               "category C" in answer
        assert "export-control category C" in _agent(state, "status")

        devices = requests.get(url + A + "/virtual-accounts/Lab/devices", headers=app,
                               timeout=10, params={"evaluation": "active"}).json()
        assert [d["sudi"]["udiSerialNumber"] for d in devices["devices"]] == ["EVAL1"]
        assert devices["devices"][0]["evaluation"]["text"] == "in evaluation, 90 days left"
        every = requests.get(url + A + "/virtual-accounts/Lab/devices", headers=app,
                             timeout=10).json()
        assert {d["sudi"]["udiSerialNumber"]: d["evaluation"] is None
                for d in every["devices"]} == {"EVAL1": False, "EXP1": True}
        wrong = requests.get(url + A + "/virtual-accounts/Lab/devices", headers=app,
                             timeout=10, params={"evaluation": "sometimes"})
        assert wrong.status_code == 400

    audit = json.loads(run("audit", "list", "--action", "account.set_export_category",
                           "--json").out)["events"]
    assert len(audit) == 1

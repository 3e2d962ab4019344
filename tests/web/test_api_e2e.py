"""The REST API through a real `satellite serve` (waitress), as automation would use it."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from satellite.agent.agent import Agent
from satellite.central.cli import main as central_main
from satellite.config import Settings
from satellite.reservation import codes
from tests.conftest import CliResult
from tests.serving import satellite_env, serving
from tests.web.conftest import conforms

pytestmark = pytest.mark.e2e
TAG = "regid.2024-01.com.example.router-advantage"
TERM_TAG = "regid.2024-01.com.example.router-dna"
V = "/api/v1/accounts/{account}/virtual-accounts/{va}"
PASSWORD = "violet-kestrel-42-river"


def test_api_client_tokens_accounts_vas_and_licenses_over_http(
        settings: Settings, tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    env = satellite_env(settings.data_dir, settings.database_url)
    central = tmp_path / "central"

    def central_cli(*args: str) -> None:
        with pytest.raises(SystemExit) as done:
            central_main(list(args))
        assert done.value.code in (0, None)

    def run_satellite(*args: str) -> CliResult:
        # Set-up runs in-process (fast); the server below is a real process.
        result = cli(*args)
        assert result.code == 0, result.err
        return result

    central_cli("init", "--dir", str(central))
    run_satellite("init", "--central-key", str(central / "central.pub"))
    satellite_id = json.loads(run_satellite("status", "--json").out)["satellite_id"]
    run_satellite("account", "create", "ABC", "--domain", "abc.xyz.com")
    run_satellite("account", "set", "ABC", "--reservation", "specific")
    central_cli("entitle", "--dir", str(central), "--account", "abc.xyz.com", "--va", "Lab",
                "--tag", TAG, "--quantity", "10", "--type", "PERPETUAL")
    # A subscription running out within 30 days: an alert once the check has run.
    today = datetime.now(UTC).date()
    central_cli("entitle", "--dir", str(central), "--account", "abc.xyz.com", "--va", "Spares",
                "--tag", TERM_TAG, "--quantity", "4", "--type", "TERM",
                "--start", (today - timedelta(days=10)).isoformat(),
                "--end", (today + timedelta(days=20)).isoformat())
    # Registered with Central: its certificate lets devices verify authorization codes.
    run_satellite("sync", "register", "--out", str(tmp_path / "register.bundle"))
    central_cli("ingest", "--dir", str(central), str(tmp_path / "register.bundle"))
    bundle = tmp_path / "response.bundle"
    central_cli("respond", "--dir", str(central), "--satellite", satellite_id, "--out",
                str(bundle))
    run_satellite("sync", "import", str(bundle))
    run_satellite("alert", "check")
    password_file = tmp_path / "alice.pw"
    password_file.write_text(PASSWORD)
    run_satellite("user", "create", "alice", "--password-file", str(password_file))
    run_satellite("user", "grant", "alice", "account_user", "--account", "abc.xyz.com")
    made = json.loads(run_satellite("apiclient", "create", "ABC", "--json").out)
    creds = {"client_id": made["client_id"], "client_secret": made["client_secret"]}

    with serving(env, tmp_path) as server:
        url = server.url
        by_json = requests.post(url + "/oauth/token", timeout=10,
                                json={"grant_type": "client_credentials", **creds})
        assert by_json.status_code == 200
        conforms(by_json.json(), "/oauth/token", "post", 200)
        first = requests.post(url + "/backend/oauth/token", timeout=10, data={
            "grant_type": "password", "username": "alice", "password": PASSWORD, **creds})
        assert first.status_code == 200
        # The password an administrator set only lets alice choose her own.
        changed = requests.post(url + "/api/v1/me/password", timeout=10, headers={
            "Authorization": f"Bearer {first.json()['access_token']}"}, json={
            "oldPassword": PASSWORD, "newPassword": PASSWORD + " of her own"})
        assert changed.status_code == 200, changed.text
        by_form = requests.post(url + "/backend/oauth/token", timeout=10, data={
            "grant_type": "password", "username": "alice", "password": PASSWORD + " of her own",
            **creds})
        assert by_form.status_code == 200
        app = {"Authorization": f"Bearer {by_json.json()['access_token']}"}
        alice = {"Authorization": f"Bearer {by_form.json()['access_token']}"}

        assert requests.get(url + "/api/v1/accounts", timeout=10).status_code == 401
        accounts = requests.get(url + "/api/v1/accounts", headers=app, timeout=10).json()
        assert [a["domain"] for a in accounts["accounts"]] == ["abc.xyz.com"]

        created = requests.post(url + "/api/v1/accounts/abc.xyz.com/virtual-accounts",
                                headers=app, timeout=10,
                                json={"name": "Field Kits", "description": "carried out"})
        assert created.status_code == 200
        # alice is an account user: she sees the new VA but may not create one.
        names = [v["name"] for v in requests.get(
            url + "/api/v1/accounts/ABC/virtual-accounts", headers=alice,
            timeout=10).json()["virtualAccounts"]]
        assert "Field Kits" in names
        refused = requests.post(url + "/api/v1/accounts/ABC/virtual-accounts", headers=alice,
                                json={"name": "Mine"}, timeout=10)
        assert refused.status_code == 403 and refused.json()["status"] == "ERROR"

        def pool() -> dict[str, int]:
            answer = requests.post(url + "/api/v1/accounts/ABC/licenses", headers=alice,
                                   json={"limit": -1}, timeout=10).json()
            conforms(answer, "/api/v1/accounts/{account}/licenses", "post", 200)
            (row,) = [r for r in answer["licenses"] if r["virtualAccount"] == "Lab"]
            return {k: row[k] for k in ("quantity", "inUse", "reserved", "available")}

        assert pool() == {"quantity": 10, "inUse": 0, "reserved": 0, "available": 10}
        code = codes.RequestCode.for_device(bytes(32), codes.Udi("C9300", "FX1"),
                                            bytes(8)).encode()
        reserved = requests.post(
            url + "/api/v1/accounts/ABC/virtual-accounts/Lab/reserve-licenses", headers=alice,
            timeout=10, json={"reservationRequests": [{
                "reservationCode": code, "reservationType": "SPECIFIC",
                "licenses": [{"entitlementTag": TAG, "quantity": 3}]}]})
        assert reserved.status_code == 200, reserved.text
        assert pool() == {"quantity": 10, "inUse": 0, "reserved": 3, "available": 7}

        # A registration token made over the API, and found (with its value) in the list.
        tokens_url = url + "/api/v1/accounts/ABC/virtual-accounts/Lab/tokens"
        made_token = requests.post(tokens_url, headers=alice, timeout=10, json={
            "expiresAfterDays": 7, "description": "lab switches",
            "exportControlled": "Not Allowed", "numberofUses": 2})
        assert made_token.status_code == 200, made_token.text
        conforms(made_token.json(), V + "/tokens", "post", 200)
        secret = made_token.json()["tokenInfo"]["token"]

        def listed() -> dict[str, object]:
            answer = requests.get(tokens_url, headers=alice, timeout=10).json()
            conforms(answer, V + "/tokens", "get", 200)
            (row,) = [t for t in answer["tokens"] if t["token"] == secret]
            return dict(row)

        row = listed()
        assert (row["description"], row["usesRemaining"], row["status"]) == (
            "lab switches", 2, "ACTIVE")
        assert row["exportControlled"] == "Not Allowed"
        assert "alice" in str(row["createdBy"])

        # A device registers with it over the device protocol and reports what it uses.
        agent = Agent(tmp_path / "agent", attempts=1)
        registered = agent.register(url, secret, "C9300-24T", "FOC1234X", hostname="sw-lab-1",
                                    product_tag=TAG)
        assert registered["virtualAccount"] == "Lab"
        agent.report({TAG: 2})
        assert listed()["usesRemaining"] == 1
        assert pool() == {"quantity": 10, "inUse": 2, "reserved": 3, "available": 5}
        found = requests.get(url + "/api/v1/accounts/ABC/virtual-accounts/Lab/devices",
                             headers=alice, params={"limit": -1}, timeout=10).json()
        conforms(found, V + "/devices", "get", 200)
        (device,) = found["devices"]
        assert device["hostName"] == "sw-lab-1"
        assert device["sudi"]["udiPid"] == "C9300-24T"
        assert device["sudi"]["udiSerialNumber"] == "FOC1234X"
        assert device["licenseUsage"] == [{"license": TAG, "quantity": 2}]

        # The expiring subscription is an alert of the account.
        alerts = requests.post(url + "/api/v1/accounts/ABC/alerts", headers=alice, json={},
                               timeout=10)
        assert alerts.status_code == 200, alerts.text
        conforms(alerts.json(), "/api/v1/accounts/{account}/alerts", "post", 200)
        expiring = [a for a in alerts.json()["alerts"]
                    if a["messageType"] == "ENTITLEMENT_EXPIRING"]
        assert expiring and expiring[0]["severity"] == "Minor"
        assert TERM_TAG in expiring[0]["message"]

    audit = json.loads(run_satellite("audit", "list", "--account", "ABC", "--json").out)
    actors = {(e["action"], e["actor"]) for e in audit["events"]}
    assert ("va.create", f"apiclient:{made['client_id']}") in actors
    assert ("reservation.authorize", f"user:alice via apiclient:{made['client_id']}") in actors

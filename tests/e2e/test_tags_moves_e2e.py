"""Tags and a device's move to another account, through a real `satellite serve` (waitress)
and the REST API, with the device speaking the device protocol all along."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

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
A = "/api/v1/accounts/{account}"
V = A + "/virtual-accounts/{va}"
PASSWORD = "amber-heron-17-harbour"


def test_tags_filter_lists_and_a_device_moves_to_another_account_over_http(
        settings: Settings, tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    env = satellite_env(settings.data_dir, settings.database_url)
    central = tmp_path / "central"

    def central_cli(*args: str) -> None:
        with pytest.raises(SystemExit) as done:
            central_main(list(args))
        assert done.value.code in (0, None)

    def satellite(*args: str) -> str:
        result = cli(*args)
        assert result.code == 0, result.err
        return result.out

    central_cli("init", "--dir", str(central))
    satellite("init", "--central-key", str(central / "central.pub"))
    satellite_id = json.loads(satellite("status", "--json"))["satellite_id"]
    satellite("account", "create", "ABC", "--domain", "abc.xyz.com")
    satellite("account", "set", "ABC", "--reservation", "specific")
    satellite("account", "create", "XYZ", "--domain", "xyz.example.com")
    for account, va, quantity in (("abc.xyz.com", "Lab", "10"), ("xyz.example.com", "Ops", "1")):
        central_cli("entitle", "--dir", str(central), "--account", account, "--va", va,
                    "--tag", TAG, "--quantity", quantity, "--type", "PERPETUAL")
    satellite("sync", "register", "--out", str(tmp_path / "register.bundle"))
    central_cli("ingest", "--dir", str(central), str(tmp_path / "register.bundle"))
    central_cli("respond", "--dir", str(central), "--satellite", satellite_id, "--out",
                str(tmp_path / "response.bundle"))
    satellite("sync", "import", str(tmp_path / "response.bundle"))
    (tmp_path / "olga.pw").write_text(PASSWORD)
    satellite("user", "create", "olga", "--password-file", str(tmp_path / "olga.pw"))
    for account in ("abc.xyz.com", "xyz.example.com"):
        satellite("user", "grant", "olga", "account_admin", "--account", account)
    made = json.loads(satellite("apiclient", "create", "ABC", "--json"))
    creds = {"client_id": made["client_id"], "client_secret": made["client_secret"]}
    secret = satellite("token", "create", "ABC", "Lab").strip()

    with serving(env, tmp_path) as server:
        url = server.url

        def token(password: str) -> str:
            answer = requests.post(url + "/oauth/token", timeout=10, data={
                "grant_type": "password", "username": "olga", "password": password, **creds})
            assert answer.status_code == 200, answer.text
            return str(answer.json()["access_token"])

        first = {"Authorization": f"Bearer {token(PASSWORD)}"}
        assert requests.post(url + "/api/v1/me/password", headers=first, timeout=10, json={
            "oldPassword": PASSWORD, "newPassword": PASSWORD + "-2"}).status_code == 200
        olga = {"Authorization": f"Bearer {token(PASSWORD + '-2')}"}

        def call(method: str, path: str, route: str, **kwargs: Any) -> Any:
            answer = requests.request(method, url + path, headers=olga, timeout=10, **kwargs)
            assert answer.status_code == 200, answer.text
            conforms(answer.json(), route, method.lower(), 200)
            return answer.json()

        agent = Agent(tmp_path / "agent", attempts=1)
        agent.register(url, secret, "C9300-24T", "FOC1", hostname="sw-1")
        agent.report({TAG: 2})
        udi = "PID:C9300-24T,SN:FOC1"

        # Tags on the device and on its pool; lists narrow to them.
        tagged = call("POST", f"/api/v1/accounts/ABC/devices/{udi}/tags",
                      A + "/devices/{udi}/tags", json={"tags": ["Rack-4", "core"]})
        assert tagged["tags"] == ["core", "rack-4"]
        bad = requests.post(url + f"/api/v1/accounts/ABC/devices/{udi}/tags", headers=olga,
                            json={"tags": ["rm -rf"]}, timeout=10)
        assert bad.status_code == 400 and "is not a tag" in bad.json()["error"]
        devices_path = V.format(account="ABC", va="Lab") + "/devices"
        found = call("GET", devices_path, V + "/devices", params={"tag": "rack-4"})
        assert [d["tags"] for d in found["devices"]] == [["core", "rack-4"]]
        assert call("GET", devices_path, V + "/devices",
                    params={"tag": ["rack-4", "absent"]})["totalRecords"] == 0
        call("POST", V.format(account="ABC", va="Lab") + f"/licenses/{TAG}/tags",
             V + "/licenses/{license}/tags", json={"tags": ["edge"]})
        pools = call("GET", "/api/v1/accounts/ABC/licenses", A + "/licenses",
                     params={"tag": "edge"})
        assert [(p["virtualAccount"], p["inUse"], p["tags"]) for p in pools["licenses"]] == [
            ("Lab", 2, ["edge"])]

        # A reservation, tagged and found by its tag.
        request_code = codes.RequestCode.for_device(bytes(32), codes.Udi("C9300", "FX1"),
                                                    bytes(8)).encode()
        call("POST", V.format(account="ABC", va="Lab") + "/reserve-licenses",
             V + "/reserve-licenses", json={"reservationRequests": [{
                 "reservationCode": request_code, "reservationType": "SPECIFIC",
                 "licenses": [{"entitlementTag": TAG, "quantity": 1}]}]})
        call("POST", "/api/v1/accounts/ABC/reservations/C9300:FX1/tags",
             A + "/reservations/{udi}/tags", json={"tags": ["ship-7"]})
        reservations = call("GET", "/api/v1/accounts/ABC/reservations", A + "/reservations",
                            params={"tag": "ship-7"})
        assert [(r["udi"], r["tags"]) for r in reservations["reservations"]] == [
            ("C9300:FX1", ["ship-7"])]

        # The move: consumption leaves ABC's pool and lands in XYZ's, which is now short.
        moved = call("POST", V.format(account="ABC", va="Lab") + "/devices/transfer",
                     V + "/devices/transfer", json={"productInstances": [{
                         "sudi": {"udiPid": "C9300-24T", "udiSerialNumber": "FOC1"},
                         "targetAccount": "xyz.example.com", "targetVirtualAccount": "Ops"}]})
        assert moved["productInstances"][0]["targetAccount"] == "XYZ"

        def pool(account: str) -> tuple[int, str]:
            (row,) = call("GET", f"/api/v1/accounts/{account}/licenses", A + "/licenses",
                          params={"limit": -1})["licenses"]
            return row["inUse"], row["status"]

        assert pool("ABC") == (0, "In Compliance")
        assert pool("XYZ") == (2, "Out Of Compliance")
        alerts = call("GET", "/api/v1/accounts/XYZ/alerts", A + "/alerts")["alerts"]
        assert any(a["messageType"] == "OUT_OF_COMPLIANCE" and "Ops" in a["message"]
                   for a in alerts)
        # The device's registration holds: it keeps reporting, now into XYZ's pool.
        agent.report({TAG: 1})
        assert pool("XYZ") == (1, "In Compliance")
        ops = call("GET", V.format(account="XYZ", va="Ops") + "/devices", V + "/devices",
                   params={"tag": "rack-4"})
        assert [d["sudi"]["udiSerialNumber"] for d in ops["devices"]] == ["FOC1"]

    for account, action in (("ABC", "device.move_out"), ("XYZ", "device.move_in")):
        events = json.loads(satellite("audit", "list", "--account", account, "--json"))["events"]
        assert any(e["action"] == action and e["target"] == f"device:{udi}" for e in events)

"""End to end over a real `satellite serve`: an account administrator's API client sets a
deposit rule; Central sends lines (one in the partner holding account); after
`satellite sync import` the rule has placed the new line, the holding line waits until the
client deposits part of it, and the next snapshot keeps the deposit."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests

from satellite.config import Settings
from tests.serving import run_satellite, satellite_env, serving

pytestmark = pytest.mark.e2e
ROUTER = "regid.2024-01.com.example.router-advantage"
SWITCH = "regid.2024-01.com.example.switch-essentials"
DOMAIN = "abc.xyz.com"
BIN = Path(sys.executable).parent


def _central(env: dict[str, str], *args: str) -> str:
    result = subprocess.run([str(BIN / "satellite-central"), *args], env=env,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, (args, result.stderr)
    return result.stdout.strip()


def test_rules_and_deposits_through_the_rest_api(settings: Settings, tmp_path: Path) -> None:
    central = tmp_path / "central"
    env = satellite_env(settings.data_dir, settings.database_url)
    _central(env, "init", "--dir", str(central))
    run_satellite(env, "init", "--central-key", str(central / "central.pub"))
    satellite_id = json.loads(run_satellite(env, "status", "--json").stdout)["satellite_id"]
    run_satellite(env, "account", "create", "ABC", "--domain", DOMAIN)
    run_satellite(env, "va", "create", DOMAIN, "Switches")
    run_satellite(env, "va", "create", DOMAIN, "Spares")
    client = json.loads(run_satellite(env, "apiclient", "create", DOMAIN, "--json").stdout)
    serial = 0

    def respond_and_import() -> str:
        nonlocal serial
        serial += 1
        bundle = tmp_path / f"response-{serial}.bundle"
        _central(env, "respond", "--dir", str(central), "--satellite", satellite_id,
                 "--out", str(bundle))
        return run_satellite(env, "sync", "import", str(bundle)).stdout

    with serving(env, tmp_path) as server:
        bearer = requests.post(server.url + "/oauth/token", timeout=10, json={
            "grant_type": "client_credentials", "client_id": client["client_id"],
            "client_secret": client["client_secret"]}).json()["access_token"]
        auth = {"Authorization": f"Bearer {bearer}"}

        def call(method: str, path: str, status: int = 200, **body: Any) -> Any:
            answer = requests.request(method, server.url + path, headers=auth, timeout=10,
                                      json=body or None)
            assert answer.status_code == status, answer.text
            return answer.json()

        rule = call("POST", f"/api/v1/accounts/{DOMAIN}/deposit-rules", match="tag",
                    pattern="regid.2024-01.com.example.switch-*", virtualAccount="Switches")
        assert rule["position"] == 1
        call("POST", f"/backend/api/v1/accounts/{DOMAIN}/deposit-rules", match="name",
             pattern="switch*", virtualAccount="Spares")
        listed = call("GET", f"/api/v1/accounts/{DOMAIN}/deposit-rules")["depositRules"]
        assert [r["virtualAccount"] for r in listed] == ["Switches", "Spares"]

        _central(env, "entitle", "--dir", str(central), "--account", DOMAIN, "--tag", SWITCH,
                 "--quantity", "4", "--type", "PERPETUAL")
        held = _central(env, "entitle", "--dir", str(central), "--holding",
                        "partner.example.com", "--tag", ROUTER, "--quantity", "10",
                        "--type", "PERPETUAL")
        imported = respond_and_import()
        assert "holding account: 1 lines wait" in imported

        def pools() -> list[tuple[str, str, int]]:
            rows = call("GET", f"/api/v1/accounts/{DOMAIN}/licenses")["licenses"]
            return sorted((r["virtualAccount"], r["license"], r["quantity"]) for r in rows)

        # The rule placed the switch line; the holding line counts nowhere yet.
        assert pools() == [("Switches", SWITCH, 4)]
        waiting = call("GET", "/api/v1/holding-lines")
        assert [(w["lineId"], w["available"]) for w in waiting["holdingLines"]] == [(held, 10)]

        call("POST", f"/api/v1/holding-lines/{held}/deposit", 409, account=DOMAIN,
             virtualAccount="Default", quantity=11)
        done = call("POST", f"/api/v1/holding-lines/{held}/deposit", account=DOMAIN,
                    virtualAccount="Default", quantity=6)
        assert (done["quantity"], done["left"]) == (6, 4)
        assert pools() == [("Default", ROUTER, 6), ("Switches", SWITCH, 4)]

        # The next snapshot still lists the line in holding: the deposit neither vanishes
        # nor counts twice.
        respond_and_import()
        assert pools() == [("Default", ROUTER, 6), ("Switches", SWITCH, 4)]
        waiting = call("GET", "/api/v1/holding-lines")["holdingLines"]
        assert [(w["deposited"], w["available"]) for w in waiting] == [(6, 4)]

        call("POST", f"/api/v1/accounts/{DOMAIN}/deposit-rules/{rule['id']}/move", position=2)
        call("DELETE", f"/api/v1/accounts/{DOMAIN}/deposit-rules/{rule['id']}")
        call("DELETE", f"/api/v1/accounts/{DOMAIN}/deposit-rules/{rule['id']}", 404)
        assert [r["pattern"] for r in call(
            "GET", f"/api/v1/accounts/{DOMAIN}/deposit-rules")["depositRules"]] == ["switch*"]

    trail = run_satellite(env, "audit", "list", "--json").stdout
    for action in ("deposit_rule.add", "deposit_rule.move", "deposit_rule.remove",
                   "holding.deposit"):
        assert action in trail

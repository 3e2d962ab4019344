"""End to end: Central's lines for a domain with no account are held by a real satellite;
a user asks for the account over REST, the admins of the top-level domain approve it, and the
lines arrive in its pools. A Pending account refuses registration tokens."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import requests

from satellite.config import Settings
from tests.serving import Server, run_satellite, satellite_env, serving

pytestmark = pytest.mark.e2e
TAG = "regid.2024-01.com.example.router-advantage"
ASKED = "z.lab.acme.example"
PASSWORD = "violet-kestrel-42-river"
BIN = Path(sys.executable).parent


def _central(env: dict[str, str], *args: str) -> None:
    result = subprocess.run([str(BIN / "satellite-central"), *args], env=env,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, (args, result.stderr)


def _signed_in(server: Server, creds: dict[str, str], user: str) -> dict[str, str]:
    """A bearer header for `user`, who first sets a password of their own."""
    def token(password: str) -> str:
        answer = requests.post(server.url + "/oauth/token", timeout=10, json={
            "grant_type": "password", "username": user, "password": password, **creds})
        assert answer.status_code == 200, answer.text
        return str(answer.json()["access_token"])

    first = {"Authorization": f"Bearer {token(PASSWORD)}"}
    changed = requests.post(server.url + "/api/v1/me/password", timeout=10, headers=first,
                            json={"oldPassword": PASSWORD, "newPassword": PASSWORD + "-own"})
    assert changed.status_code == 200, changed.text
    return {"Authorization": f"Bearer {token(PASSWORD + '-own')}"}


def _get(server: Server, path: str, who: dict[str, str]) -> Any:
    answer = requests.get(server.url + path, headers=who, timeout=10)
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_held_lines_reach_an_account_asked_for_and_approved_by_the_top_level_admins(
        settings: Settings, tmp_path: Path) -> None:
    central = tmp_path / "central"
    env = satellite_env(settings.data_dir, settings.database_url)
    _central(env, "init", "--dir", str(central))
    run_satellite(env, "init", "--central-key", str(central / "central.pub"))
    satellite_id = json.loads(run_satellite(env, "status", "--json").stdout)["satellite_id"]
    run_satellite(env, "account", "create", "Acme", "--domain", "acme.example")
    run_satellite(env, "account", "create", "Acme Lab", "--domain", "lab.acme.example")
    (tmp_path / "pw").write_text(PASSWORD)
    for user in ("top", "labadmin", "bob"):
        run_satellite(env, "user", "create", user, "--password-file", str(tmp_path / "pw"))
    run_satellite(env, "user", "grant", "top", "account_admin", "--account", "acme.example")
    run_satellite(env, "user", "grant", "labadmin", "account_admin", "--account",
                  "lab.acme.example")
    creds = json.loads(run_satellite(env, "apiclient", "create", "Acme", "--json").stdout)
    creds = {"client_id": creds["client_id"], "client_secret": creds["client_secret"]}

    # Central sells five licenses to a domain this satellite has no account for.
    _central(env, "entitle", "--dir", str(central), "--account", ASKED, "--va", "Lab", "--tag",
             TAG, "--quantity", "5", "--type", "PERPETUAL")
    bundle = tmp_path / "response.bundle"
    _central(env, "respond", "--dir", str(central), "--satellite", satellite_id, "--out",
             str(bundle))
    imported = run_satellite(env, "sync", "import", str(bundle)).stdout
    assert "held 1 line for domains with no Active account" in imported and ASKED in imported
    held = json.loads(run_satellite(env, "account", "held", "--json").stdout)
    assert [(h["domain"], h["virtualAccount"], h["quantity"]) for h in held["heldLines"]] == [
        (ASKED, "Lab", 5)]

    with serving(env, tmp_path) as server:
        bob = _signed_in(server, creds, "bob")
        top = _signed_in(server, creds, "top")
        lab = _signed_in(server, creds, "labadmin")
        asked = requests.post(server.url + "/api/v1/account-requests", headers=bob, timeout=10,
                              json={"name": "Zeta", "domain": ASKED})
        assert asked.status_code == 200, asked.text
        (request,) = asked.json()["accountRequests"]
        # The request goes to the top-level domain's admins, not the nearer lab's.
        assert [r["id"] for r in _get(server, "/api/v1/account-requests", top)[
            "accountRequests"]] == [request["id"]]
        assert _get(server, "/api/v1/account-requests", lab)["accountRequests"] == []
        refused = requests.post(f"{server.url}/api/v1/account-requests/{request['id']}/approve",
                                headers=lab, timeout=10)
        assert refused.status_code == 404
        # Who decides sees what Central holds for the domain; the requester (anyone may ask
        # for any domain) and the nearer lab's admins do not.
        held_path = f"/api/v1/account-requests/{request['id']}/held-licenses"
        shown = _get(server, held_path, top)
        assert (shown["accountRequest"]["domain"], shown["totalCount"]) == (ASKED, 1)
        assert [(h["virtualAccount"], h["tag"], h["quantity"]) for h in shown["heldLines"]] == [
            ("Lab", TAG, 5)]
        for who, status in ((bob, 403), (lab, 404)):
            answer = requests.get(server.url + held_path, headers=who, timeout=10)
            assert answer.status_code == status, answer.text
        approved = requests.post(
            f"{server.url}/api/v1/account-requests/{request['id']}/approve", headers=top,
            timeout=10)
        assert approved.status_code == 200, approved.text

        (zeta,) = _get(server, f"/api/v1/accounts/{ASKED}", bob)["accounts"]
        assert (zeta["status"], zeta["createdBy"], zeta["approvedBy"]) == (
            "ACTIVE", "user:bob", "user:top")
        licenses = _get(server, f"/api/v1/accounts/{ASKED}/licenses", bob)["licenses"]
        assert [(x["license"], x["virtualAccount"], x["quantity"]) for x in licenses] == [
            (TAG, "Lab", 5)]
        assert _get(server, f"/api/v1/accounts/{ASKED}/held-licenses", bob)["totalCount"] == 0

    # The next response from Central changes nothing: the line is where it belongs.
    _central(env, "respond", "--dir", str(central), "--satellite", satellite_id, "--out",
             str(bundle))
    again = run_satellite(env, "sync", "import", str(bundle)).stdout
    assert "0 added, 0 updated, 1 unchanged, 0 removed" in again

    run_satellite(env, "account", "create", "Later", "--domain", "later.example.org",
                  "--pending")
    refused_token = run_satellite(env, "token", "create", "Later", "Default", check=False)
    assert refused_token.returncode == 4
    assert "Pending until its approver activates it" in refused_token.stderr
    run_satellite(env, "account", "activate", "Later")
    shown = json.loads(run_satellite(env, "account", "show", "Later", "--json").stdout)
    assert shown["status"] == "ACTIVE" and shown["approvedBy"].startswith("cli:")
    assert run_satellite(env, "token", "create", "Later", "Default").stdout.strip()

"""End to end: a real `satellite serve` over HTTP and the real `satellite-agent` CLI."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from satellite.actor import Actor
from satellite.clock import SystemClock
from satellite.config import Settings
from satellite.crypto import keys, signing
from satellite.devices.messages import build_request
from satellite.tokens.secrets import TokenSealer
from satellite.uow import Database
from tests.devices.helpers import SECRET_TAG, TAG, add_lines, make_token, va_id
from tests.serving import satellite_env, serving

pytestmark = pytest.mark.e2e


def agent(state: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "satellite.agent", "--state", str(state),
                           "--retries", "1", *args], capture_output=True, text=True, timeout=60)


def report(state: Path, *usage: str) -> dict[str, object]:
    result = agent(state, "report", *usage, "--json")
    assert result.returncode == 0, result.stderr
    answer: dict[str, object] = json.loads(result.stdout)
    return answer


def tag_status(answer: dict[str, object], tag: str) -> str:
    return next(t["status"] for t in answer["tags"] if t["tag"] == tag)  # type: ignore[attr-defined,index]


def test_devices_register_report_comply_and_deregister_over_http(
        db: Database, settings: Settings, actor: Actor, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # The db fixture's clock is fixed in the past: a 30-day token made with it has expired.
    sealer = TokenSealer.for_data_dir(settings.data_dir)
    assert cli("account", "create", "Acme", "--domain", "acme.example.com").code == 0
    for va in ("Lab", "Spare"):
        assert cli("va", "create", "Acme", va).code == 0
    lab, spare = va_id(db, "Acme", "Lab"), va_id(db, "Acme", "Spare")
    with db.uow() as uow:
        # Pools as a sync from Central would leave them (that path has its own end-to-end test).
        add_lines(uow.session, lab, TAG, 2)
        add_lines(uow.session, lab, SECRET_TAG, 5, export_controlled=True)
        add_lines(uow.session, spare, TAG, 5)
        uow.commit()
    expired = make_token(db, actor, sealer, expires_days=30)
    token = cli("token", "create", "Acme", "Lab").out.strip()
    once = cli("token", "create", "Acme", "Lab", "--max-uses", "1").out.strip()
    revoked = cli("token", "create", "Acme", "Lab", "--description", "to revoke").out.strip()
    listed = json.loads(cli("token", "list", "Acme", "Lab", "--json").out)["tokens"]
    revoked_id = next(t["id"] for t in listed if t["token"] == revoked)
    assert cli("token", "revoke", "Acme", "Lab", str(revoked_id)).code == 0

    def in_use() -> tuple[int, int, str]:
        listed = cli("license", "list", "--account", "Acme", "--va", "Lab", "--tag", TAG, "--json")
        [row] = json.loads(listed.out)["licenses"]
        return row["quantity"], row["inUse"], row["status"]

    env = satellite_env(settings.data_dir, settings.database_url)
    with serving(env, tmp_path) as server:
        a, b, c = tmp_path / "a", tmp_path / "b", tmp_path / "c"
        for state, sn, secret in ((a, "SN-A", token), (b, "SN-B", token), (c, "SN-C", once)):
            done = agent(state, "register", "--url", server.url, "--token", secret,
                         "--pid", "C9300-24T", "--sn", sn, "--hostname", sn.lower())
            assert done.returncode == 0, done.stderr
            assert "Registered as device" in done.stdout

        assert report(a, f"{TAG}=2")["status"] == "AUTHORIZED"
        over = report(b, f"{TAG}=1")
        assert (over["status"], tag_status(over, TAG)) == ("OUT_OF_COMPLIANCE", "OUT_OF_COMPLIANCE")
        assert in_use() == (2, 3, "Out Of Compliance")

        moved = cli("transfer", "Acme", "--from", "Spare", "--to", "Lab", "--license", f"{TAG}=1")
        assert moved.code == 0, moved.err
        assert report(b, f"{TAG}=1")["status"] == "AUTHORIZED"
        assert in_use() == (3, 3, "In Compliance")

        secret_answer = report(b, f"{TAG}=1", f"{SECRET_TAG}=1")
        assert tag_status(secret_answer, SECRET_TAG) == "NOT_AUTHORIZED"

        assert agent(a, "deregister").returncode == 0
        assert in_use() == (3, 1, "In Compliance")
        assert json.loads(agent(a, "status", "--json").stdout)["status"] == "DEREGISTERED"

        for secret, reason in ((once, "has been used 1 times, its maximum"),
                               (revoked, "has been revoked"), (expired, "expired on")):
            refused = agent(tmp_path / "d", "register", "--url", server.url, "--token", secret,
                            "--pid", "C9300-24T", "--sn", "SN-D")
            assert refused.returncode == 1
            assert refused.stderr.count("\n") == 1
            assert reason in refused.stderr

        # A signed message sent twice: the second is refused as a replay.
        state = json.loads((b / "state.json").read_text())
        private = keys.load_private_key(b / "device.key")
        raw, headers = build_request("usage", state["deviceId"], {"usage": {TAG: 1}},
                                     SystemClock().now(), lambda d: signing.sign(private, d))
        url = server.url + "/api/device/v1/usage"
        assert requests.post(url, data=raw, headers=headers, timeout=10).status_code == 200
        replay = requests.post(url, data=raw, headers=headers, timeout=10)
        assert replay.status_code == 409
        assert "already received" in replay.json()["error"]

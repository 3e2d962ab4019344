"""End to end: devices over-use a pool of a real `satellite serve`; one Major alert is raised,
delivered once by webhook and by email, and cleared when Central's licenses arrive."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import requests

from satellite.config import Settings
from tests.alerts.sinks import http_sink, smtp_sink
from tests.serving import run_satellite, satellite_env, serving

pytestmark = pytest.mark.e2e
TAG = "regid.2024-01.com.example.router-advantage"
DOMAIN = "abc.xyz.com"
BIN = Path(sys.executable).parent


def _run(env: dict[str, str], tool: str, *args: str) -> str:
    result = subprocess.run([str(BIN / tool), *args], env=env, capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, (tool, args, result.stderr)
    return result.stdout


def _agent(state: Path, *args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "satellite.agent", "--state", str(state),
                             "--retries", "1", *args], capture_output=True, text=True,
                            timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    return result.stdout


def _until(what: Callable[[], bool], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not what():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.5)


def test_over_use_raises_one_major_alert_delivered_once_and_cleared_by_central(
        settings: Settings, tmp_path: Path) -> None:
    central = tmp_path / "central"
    with smtp_sink() as mail, http_sink() as hook:
        env = satellite_env(settings.data_dir, settings.database_url, {
            "SATELLITE_ALERT_SMTP_HOST": "127.0.0.1",
            "SATELLITE_ALERT_SMTP_PORT": str(mail.port),
            "SATELLITE_ALERT_ALLOW_LOCAL_TARGETS": "true",  # the collector is on loopback
            # Deliveries every second instead of every 15 s: the test waits less.
            "SATELLITE_JOB_INTERVALS": "deliver-alerts=1"})
        _run(env, "satellite-central", "init", "--dir", str(central))
        run_satellite(env, "init", "--central-key", str(central / "central.pub"))
        satellite_id = json.loads(run_satellite(env, "status", "--json").stdout)["satellite_id"]
        run_satellite(env, "account", "create", "ABC", "--domain", DOMAIN)
        run_satellite(env, "va", "create", DOMAIN, "Lab")

        def licenses_from_central(quantity: int, name: str) -> None:
            _run(env, "satellite-central", "entitle", "--dir", str(central), "--account",
                 DOMAIN, "--va", "Lab", "--tag", TAG, "--quantity", str(quantity),
                 "--type", "PERPETUAL")
            bundle = tmp_path / f"{name}.bundle"
            _run(env, "satellite-central", "respond", "--dir", str(central), "--satellite",
                 satellite_id, "--out", str(bundle))
            run_satellite(env, "sync", "import", str(bundle))

        licenses_from_central(3, "first")
        run_satellite(env, "alert", "channel", "add", "hook", "--kind", "webhook", "--target",
                      hook.url, "--account", DOMAIN)
        run_satellite(env, "alert", "channel", "add", "ops", "--kind", "email", "--target",
                      "ops@abc.xyz.com", "--account", DOMAIN)
        token = run_satellite(env, "token", "create", DOMAIN, "Lab").stdout.strip()
        client = json.loads(run_satellite(env, "apiclient", "create", DOMAIN, "--json").stdout)

        with serving(env, tmp_path) as server:
            bearer = requests.post(server.url + "/oauth/token", timeout=10, json={
                "grant_type": "client_credentials", "client_id": client["client_id"],
                "client_secret": client["client_secret"]}).json()["access_token"]

            def compliance_alerts(cleared: bool = False) -> list[dict[str, str]]:
                answer = requests.get(
                    f"{server.url}/api/v1/accounts/{DOMAIN}/alerts", timeout=10,
                    params={"includeCleared": "true"} if cleared else None,
                    headers={"Authorization": f"Bearer {bearer}"})
                assert answer.status_code == 200, answer.text
                return [a for a in answer.json()["alerts"]
                        if a["messageType"] == "OUT_OF_COMPLIANCE"]

            answers = []
            for n in range(5):
                state = tmp_path / f"device-{n}"
                _agent(state, "register", "--url", server.url, "--token", token,
                       "--pid", "C9300-24T", "--sn", f"SN-{n}")
                answers.append(json.loads(_agent(state, "report", f"{TAG}=1", "--json")))
            assert [a["status"] for a in answers] == ["AUTHORIZED"] * 3 + ["OUT_OF_COMPLIANCE"] * 2
            (alert,) = compliance_alerts()
            assert alert["severity"] == "Major" and "short by 2" in alert["message"]

            # Delivered once on each channel, by the scheduler's delivery job.
            _until(lambda: len(hook.requests) >= 1 and len(mail.mails) >= 1)
            payload = hook.requests[0].json()
            assert payload["alert"]["kind"] == "out_of_compliance"
            assert "Out Of Compliance" in str(mail.mails[0].message["Subject"]) + str(
                mail.mails[0].message.get_body())

            licenses_from_central(2, "second")  # Central's response brings two more
            assert compliance_alerts() == []
            (cleared,) = compliance_alerts(cleared=True)
            assert cleared["clearedAt"] is not None
            # More delivery rounds: nothing more was sent, neither on raising nor clearing.
            time.sleep(3)
        assert len(hook.requests) == 1 and len(mail.mails) == 1

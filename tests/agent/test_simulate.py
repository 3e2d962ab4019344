"""`satellite-agent simulate` against a real `satellite serve`, signing as it goes or before."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from pathlib import Path

import pytest

from satellite.agent.client import DeviceClient
from satellite.agent.load import LoadResult
from satellite.agent.simulate import _verify_answers, simulate
from satellite.agent.transport import Reply
from satellite.config import Settings
from satellite.crypto import keys, signing
from satellite.devices.messages import PROTOCOL, encode, signature_headers
from satellite.licenses.counters import counter
from satellite.uow import Database
from tests.devices.helpers import TAG, add_lines, va_id
from tests.serving import satellite_env, serving

pytestmark = pytest.mark.e2e


@pytest.mark.parametrize("presign_rate", [0, 400])
def test_simulated_devices_register_and_report_with_every_answer_verified(
        db: Database, settings: Settings, cli, tmp_path: Path,  # type: ignore[no-untyped-def]
        presign_rate: int) -> None:
    assert cli("account", "create", "Acme", "--domain", "acme.example.com").code == 0
    assert cli("va", "create", "Acme", "Lab").code == 0
    lab = va_id(db, "Acme", "Lab")
    with db.uow() as uow:
        add_lines(uow.session, lab, TAG, 100)
        uow.commit()
    token = cli("token", "create", "Acme", "Lab").out.strip()
    with serving(satellite_env(settings.data_dir, settings.database_url), tmp_path) as server:
        result = simulate(server.url, token, 6, 1.0, 3, {TAG: 2}, warm_up=True,
                          presign_rate=presign_rate)
    assert result.reports.errors == 0, result.reports.first_error
    assert result.reports.requests > 0
    with db.reader() as uow:
        assert counter(uow.session, lab, TAG, uow.clock.now().date()).in_use == 12


def test_the_cli_refuses_a_negative_presign_rate() -> None:
    done = subprocess.run([sys.executable, "-m", "satellite.agent", "simulate", "--url",
                           "http://127.0.0.1:9", "--token", "t", "--presign-rate", "-1"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "--presign-rate" in done.stderr and "negative" in done.stderr


def test_an_answer_that_fails_verification_after_the_clock_is_an_error_not_a_request() -> None:
    satellite = keys.generate_private_key()
    pinned = base64.b64encode(keys.raw_public_bytes(keys.public_key_of(satellite))).decode()
    client = DeviceClient(None, keys.generate_private_key(), 7, pinned)  # type: ignore[arg-type]
    sent = []
    for forged in (False, True, False):
        prepared = client.prepare("usage", {"usage": {TAG: 1}})
        body = encode({"protocol": PROTOCOL, "type": "authorization", "deviceId": 7,
                       "requestNonce": prepared.nonce, "tags": []})
        signed_by = keys.generate_private_key() if forged else satellite
        headers = {k.lower(): v for k, v in
                   signature_headers(signing.sign(signed_by, body)).items()}
        sent.append((client, prepared, Reply(200, headers, body)))
    result = LoadResult(1.0, latencies=[0.001, 0.002, 0.003])
    _verify_answers(result, sent)
    assert result.latencies == [0.001, 0.003]
    assert result.errors == 1 and "not trusted" in result.first_error
    assert json.loads(sent[0][2].body)["requestNonce"] == sent[0][1].nonce

"""The check-in benchmark runs (quick mode) and writes its report; its numbers are not judged here."""

from __future__ import annotations

import base64
import re
from dataclasses import replace
from pathlib import Path

import pytest

from bench.checkin import main
from bench.hello import create_app
from satellite.agent.client import DeviceClient, Prepared
from satellite.agent.transport import Reply, Transport
from satellite.crypto import keys
from satellite.crypto.signing import Signer
from satellite.devices.messages import MESSAGE_TYPES

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_quick_benchmark_measures_every_endpoint_and_writes_the_report(tmp_path: Path) -> None:
    out = tmp_path / "BENCHMARKS.md"
    out.write_text("# Benchmarks\n\n### An earlier run\n\nkept as history\n")
    assert main(["--quick", "--out", str(out)]) == 0
    text = out.read_text()
    # A run appends its own dated section; earlier ones stay.
    assert text.startswith("# Benchmarks\n\n### An earlier run\n\nkept as history\n\n### Device")
    rows = re.findall(r"^\| (hello baseline|signature floor|device check-in)[^|]*\| (\d+) \| (\d+) "
                      r"\| ([\d.]+) \| (\d+)% \|[^|]*\|[^|]*\| (\d+|n/a) \|$", text, re.M)
    assert [(name, int(errors)) for name, _n, errors, *_rest in rows] == [
        ("hello baseline", 0), ("signature floor", 0), ("device check-in", 0),
        ("device check-in", 0)]
    assert all(int(n) > 0 for _name, n, *_rest in rows)
    assert rows[0][4] == "100"
    # The server's CPU per request comes from /proc (on Linux, as here).
    assert all(cpu != "n/a" and int(cpu) > 0 for *_rest, cpu in rows)
    assert re.search(r"Check-in throughput is \*\*\d+%\*\* of the signature floor's in the "
                     r"same run; the target is 75%", text)
    assert re.search(r"Against the hello baseline: the floor \d+%, the check-in \d+%", text)
    assert "Command: `python -m bench.checkin --quick" in text


def test_the_signature_floor_verifies_each_report_and_signs_its_answer() -> None:
    device, identity = keys.generate_private_key(), keys.generate_private_key()
    app = create_app(keys.public_key_of(device), Signer(identity)).test_client()
    trusted = base64.b64encode(keys.raw_public_bytes(keys.public_key_of(identity))).decode()
    client = DeviceClient(Transport("http://unused"), device, device_id=7, satellite_key=trusted)

    def send(prepared: Prepared) -> Reply:
        answer = app.post(MESSAGE_TYPES["usage"], data=prepared.raw, headers=prepared.headers)
        return Reply(answer.status_code, dict(answer.headers), answer.get_data())

    prepared = client.prepare("usage", {"usage": {"regid.example.a": 2}})
    document = client.accept(prepared, send(prepared))
    assert document["deviceId"] == 7 and document["tags"][0]["status"] == "AUTHORIZED"
    # A report changed after signing, or signed by another key, is refused as the satellite
    # refuses it: the floor does the verification it stands for.
    tampered = replace(prepared, raw=prepared.raw.replace(b'"regid.example.a":2', b'"regid.example.a":3'))
    stranger = DeviceClient(Transport("http://unused"), keys.generate_private_key(), device_id=7)
    for refused in (send(tampered), send(stranger.prepare("usage", {"usage": {"x": 1}}))):
        assert refused.status == 401, refused.body
    assert app.get("/hello").get_json() == {"message": "hello"}

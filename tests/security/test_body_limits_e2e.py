"""Body limits through a real `satellite serve` (waitress): announced, chunked, past everything."""

from __future__ import annotations

import http.client
import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from satellite.config import Settings
from tests.conftest import CliResult
from tests.serving import satellite_env, serving

pytestmark = [pytest.mark.e2e, pytest.mark.sqlite_only]


def _post(url: str, path: str, body: bytes | Iterator[bytes], headers: dict[str, str]
          ) -> tuple[int, bytes]:
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        connection.request("POST", path, body=body, headers=headers,
                           encode_chunked=not isinstance(body, bytes))
        answer = connection.getresponse()
        return answer.status, answer.read()
    finally:
        connection.close()


def test_oversized_bodies_are_refused_by_the_server_with_a_json_413(
        settings: Settings, tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    assert cli("init").code == 0
    env = satellite_env(settings.data_dir, settings.database_url,
                        {"SATELLITE_MAX_UPLOAD_MB": "1"})
    json_type = {"Content-Type": "application/json"}
    with serving(env, tmp_path) as server:
        status, body = _post(server.url, "/oauth/token", b"x" * 20_000, json_type)
        assert status == 413 and json.loads(body)["status"] == "ERROR"

        chunks = iter([b"x" * 4096] * 10)
        status, body = _post(server.url, "/oauth/token", chunks,
                             {**json_type, "Transfer-Encoding": "chunked"})
        assert status == 413 and "8 KiB" in json.loads(body)["error"]

        status, body = _post(server.url, "/api/device/v1/usage", b"{" * 70_000, json_type)
        assert status == 413 and "64 KiB" in json.loads(body)["error"]

        status, body = _post(server.url, "/sync/preview", b"x" * (1024 * 1024 + 10),
                             {"Content-Type": "multipart/form-data; boundary=x"})
        assert status == 413 and "1 MiB" in json.loads(body)["error"]

        # Within its limit a request goes through to the handler, which names what is wrong.
        status, body = _post(server.url, "/oauth/token", b'{"grant_type":"password"}',
                             json_type)
        assert status == 400 and json.loads(body)["field"] == "client_id"

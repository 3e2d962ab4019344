"""The agent tells a TLS refusal from an unreachable satellite, and a proxy's web page from the
satellite's answer; it retries neither, and says only what authorization it really holds."""

from __future__ import annotations

import ipaddress
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from satellite.agent.agent import Agent
from satellite.agent.cli import main
from satellite.agent.client import Refused, with_retries
from satellite.agent.transport import TlsFailure, Transport, Unreachable
from satellite.crypto import tls
from tests.serving import free_port

PAGE = (b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head>"
        b"<body><h1>Bad Gateway</h1><p>nginx</p></body></html>")


class _Page(BaseHTTPRequestHandler):
    status = 502

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.send_response(self.status)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, format: str, *args: Any) -> None:
        return None


@contextmanager
def _server(tmp_path: Path, *, name: str | None = None,
            handler: type[BaseHTTPRequestHandler] = _Page) -> Iterator[str]:
    """A web server on loopback; with `name`, over TLS with a self-signed certificate for it."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    scheme = "http"
    if name is not None:
        key = tls.new_private_key()
        ips = [ipaddress.ip_address("127.0.0.1")] if name == "127.0.0.1" else []
        cert = tls.self_signed_certificate(key, "localhost" if ips else name, ips,
                                           datetime.now(UTC), 30)
        (tmp_path / "cert.pem").write_bytes(cert)
        (tmp_path / "key.pem").write_bytes(tls.private_key_pem(key))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
        server.socket = context.wrap_socket(server.socket, server_side=True)
        scheme = "https"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"{scheme}://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _once(transport: Transport) -> Any:
    return transport.request("POST", "/api/device/v1/usage", b"{}")


def test_an_unknown_ca_is_named_and_not_retried(tmp_path: Path) -> None:
    with _server(tmp_path, name="127.0.0.1") as url:
        calls: list[int] = []

        def call() -> dict[str, object]:
            calls.append(1)
            _once(Transport(url, timeout=5))
            return {}

        with pytest.raises(TlsFailure, match=r"not trusted .*unknown CA.*--ca-file"):
            with_retries(call, attempts=4, sleep=lambda _s: None)
        assert len(calls) == 1
        # With the CA given, the same server is trusted and answers.
        assert _once(Transport(url, timeout=5, ca_file=str(tmp_path / "cert.pem"))).status == 502


def test_a_certificate_for_another_name_is_a_name_mismatch(tmp_path: Path) -> None:
    with (_server(tmp_path, name="other.example.internal") as url,
          pytest.raises(TlsFailure, match=r"does not name 127\.0\.0\.1 \(name mismatch\)")):
        _once(Transport(url, timeout=5, ca_file=str(tmp_path / "cert.pem")))


def test_plain_http_on_an_https_url_is_named(tmp_path: Path) -> None:
    with _server(tmp_path) as url:
        https = url.replace("http://", "https://")
        with pytest.raises(TlsFailure, match="does not answer TLS"):
            _once(Transport(https, timeout=5))


def test_a_proxys_web_page_is_named_not_printed(tmp_path: Path, capsys: pytest.CaptureFixture[str]
                                                ) -> None:
    with _server(tmp_path) as url:
        state = tmp_path / "agent"
        with pytest.raises(SystemExit) as ended:
            main(["--state", str(state), "register", "--url", url, "--token", "T",
                  "--pid", "C9300", "--sn", "X1"])
        assert ended.value.code != 0
        err = capsys.readouterr().err.strip()
        assert err.splitlines() == [
            'satellite-agent: error: the satellite refused the request (502): a web page titled '
            '"502 Bad Gateway" came back instead of the satellite\'s answer: a proxy or another '
            "web server answers at this URL; check the URL, and the proxy settings"]
        assert "<html" not in err.lower()
        with pytest.raises(Refused):
            Agent(state, attempts=1).register(url, "T", "C9300", "X1")


def test_unreachable_without_an_authorization_says_so(tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(Unreachable, match="holds no authorization yet"):
        Agent(tmp_path / "agent", attempts=1).register(dead, "T", "C9300", "X1")
    with pytest.raises(SystemExit):
        main(["--state", str(tmp_path / "a2"), "--retries", "1", "register", "--url", dead, "--token", "T",
              "--pid", "C9300", "--sn", "X2"])
    err = capsys.readouterr().err
    assert "kept until it expires" not in err and "holds no authorization yet" in err

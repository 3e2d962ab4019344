"""Local receivers for alert deliveries: an SMTP relay, an HTTP collector, a syslog socket."""

from __future__ import annotations

import email.policy
import json
import socket
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import ip_address
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from satellite.crypto import tls


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# SMTP -------------------------------------------------------------------------------------

@dataclass
class Mail:
    sender: str
    recipients: list[str]
    message: Message
    authenticated_as: str | None


@dataclass
class SmtpSink:
    port: int
    mails: list[Mail] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        login = session.auth_data if session.authenticated else None
        self.mails.append(Mail(str(envelope.mail_from), list(envelope.rcpt_tos),
                               message_from_bytes(bytes(envelope.content or b""),
                                                  policy=email.policy.default),
                               login if isinstance(login, str) else None))
        return "250 OK"


@contextmanager
def smtp_sink(*, cert_dir: Path | None = None, user: str = "", password: str = ""
              ) -> Iterator[SmtpSink]:
    """A relay on a free port; with `cert_dir`, it requires STARTTLS (certificate for
    127.0.0.1 written to cert_dir/relay.crt) and a login as user/password."""
    sink = SmtpSink(free_port())
    options: dict[str, Any] = {}
    if cert_dir is not None:
        key = tls.new_private_key()
        cert = tls.self_signed_certificate(key, "localhost", [ip_address("127.0.0.1")],
                                           datetime.now(UTC), 1)
        (cert_dir / "relay.crt").write_bytes(cert)
        (cert_dir / "relay.key").write_bytes(tls.private_key_pem(key))
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert_dir / "relay.crt", cert_dir / "relay.key")

        def authenticate(server: SMTP, session: Session, envelope: Envelope, mechanism: str,
                         data: Any) -> AuthResult:
            assert isinstance(data, LoginPassword)
            sink.logins.append((data.login.decode(), data.password.decode()))
            ok = data.login.decode() == user and data.password.decode() == password
            return AuthResult(success=ok, handled=False, auth_data=data.login.decode())

        options = {"tls_context": context, "require_starttls": True,
                   "authenticator": authenticate, "auth_require_tls": True}
    controller = Controller(sink, hostname="127.0.0.1", port=sink.port, **options)
    controller.start()
    try:
        yield sink
    finally:
        controller.stop()


# HTTP -------------------------------------------------------------------------------------

@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class HttpSink:
    url: str
    # Status codes to answer, in order; 200 once they run out.
    statuses: list[int]
    requests: list[Request] = field(default_factory=list)


@contextmanager
def http_sink(statuses: list[int] | None = None) -> Iterator[HttpSink]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), BaseHTTPRequestHandler)
    sink = HttpSink(f"http://127.0.0.1:{server.server_address[1]}/hooks/satellite",
                    list(statuses or []))

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            sink.requests.append(Request(self.path, dict(self.headers.items()), body))
            status = sink.statuses.pop(0) if sink.statuses else 200
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server.RequestHandlerClass = Handler
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield sink
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


# Syslog -----------------------------------------------------------------------------------

@contextmanager
def udp_sink() -> Iterator[socket.socket]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(10)
    try:
        yield sock
    finally:
        sock.close()

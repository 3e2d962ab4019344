"""Bad input at the edges: bounded fields, body limits, no 500s, no forged lines.

Each test here failed before the bound it names existed (see docs/input-limits.md).
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from satellite.actor import Actor
from satellite.alerts.service import raise_alert
from satellite.audit.models import AuditEvent
from satellite.audit.service import record
from satellite.clock import FixedClock
from satellite.crypto import signing
from satellite.devices.messages import (
    PROTOCOL,
    build_request,
    format_time,
    new_nonce,
    signature_headers,
)
from satellite.devices.models import Device
from satellite.tokens.secrets import TokenSealer
from satellite.uow import Database
from tests.conftest import CliResult
from tests.devices.fixtures import app, authority, sealer, site, transport
from tests.devices.helpers import TAG, FlaskTransport, Site, device, make_token

# The device protocol's fixtures (this folder's conftest serves the web UI's app).
__all__ = ["app", "authority", "sealer", "site", "transport"]
DEVICE_PATHS = ("/api/device/v1/register", "/api/device/v1/usage", "/api/device/v1/renew",
                "/api/device/v1/deregister")
OAUTH_PATHS = ("/oauth/token", "/backend/oauth/token", "/oauth/revoke")
DEEP = b'{"a":' * 30_000 + b"1" + b"}" * 30_000
SIGNED = {"X-Satellite-Key-Id": "0123456789abcdef", "X-Satellite-Signature": "AAAA",
          "Content-Type": "application/json"}


def audit_count(db: Database) -> int:
    with db.reader() as uow:
        return int(uow.session.scalar(select(func.count()).select_from(AuditEvent)) or 0)


def refused(answer: Any, status: int = 400) -> dict[str, Any]:
    assert answer.status_code == status, answer.get_data(as_text=True)[:300]
    assert answer.mimetype == "application/json"
    body: dict[str, Any] = answer.get_json()
    assert body["status"] == "ERROR" and body["error"]
    return body


# --- 2: every identifier bounded at the edge; only bounded values audited -------------------

def test_a_long_client_id_is_refused_before_it_is_counted_or_audited(
        client: FlaskClient, db: Database) -> None:
    before = audit_count(db)
    answer = client.post("/oauth/token", json={"grant_type": "client_credentials",
                                               "client_id": "c" * 5000, "client_secret": "s"})
    assert refused(answer)["field"] == "client_id"
    # Basic authentication is the same edge.
    import base64
    basic = base64.b64encode(b"c" * 5000 + b":secret").decode()
    answer = client.post("/oauth/token", data={"grant_type": "client_credentials"},
                         headers={"Authorization": f"Basic {basic}"})
    assert refused(answer)["field"] == "client_id"
    assert audit_count(db) == before


def test_an_unknown_client_of_sane_length_is_still_audited_as_sent(
        client: FlaskClient, db: Database) -> None:
    before = audit_count(db)
    answer = client.post("/oauth/token", json={"grant_type": "client_credentials",
                                               "client_id": "nobody", "client_secret": "s"})
    assert answer.status_code == 401
    assert audit_count(db) == before + 1


def test_user_names_and_passwords_are_bounded_at_sign_in(client: FlaskClient, db: Database,
                                                         make_client: Callable[..., Any]) -> None:
    from satellite.accounts.service import create_account
    with db.uow() as uow:
        create_account(uow, Actor("cli", "t"), "Acme", "acme.example.com")
        uow.commit()
    client_id, secret = make_client("Acme")
    for name, password, field in (("u" * 151, "p", "username"), ("root", "p" * 1025, "password")):
        answer = client.post("/oauth/token", json={
            "grant_type": "password", "client_id": client_id, "client_secret": secret,
            "username": name, "password": password})
        assert refused(answer)["field"] == field


def test_the_audit_trail_keeps_bounded_text_whatever_a_caller_passes(db: Database) -> None:
    with db.uow() as uow:
        record(uow, Actor("cli", "t"), "test.long", "x" * 10_000, details={"v": "y" * 10_000})
        uow.commit()
    with db.reader() as uow:
        target, details = uow.session.execute(select(AuditEvent.target, AuditEvent.details)
                                              .where(AuditEvent.action == "test.long")).one()
    assert len(target) <= 300 and len(details) < 1100


# --- 3: body limits per route, before the body is read --------------------------------------

@pytest.mark.parametrize(("path", "size"), [
    ("/oauth/token", 8 * 1024 + 1), ("/backend/oauth/token", 8 * 1024 + 1),
    ("/sign-in", 8 * 1024 + 1), ("/api/device/v1/usage", 64 * 1024 + 1),
    ("/api/device/v1/register", 64 * 1024 + 1), ("/api/v1/accounts", 1024 * 1024 + 1),
])
def test_a_body_past_its_route_limit_is_413_with_a_json_error(
        client: FlaskClient, db: Database, path: str, size: int) -> None:
    before = audit_count(db)
    answer = client.post(path, data=b"x" * size, headers={"Content-Type": "application/json"})
    assert "larger than" in refused(answer, 413)["error"]
    assert audit_count(db) == before


def test_the_announced_length_is_enough_to_refuse(app: Flask) -> None:
    """Content-Length past the limit: 413 without reading a byte of the body."""
    class Untouchable:
        def read(self, *args: object) -> bytes:
            raise AssertionError("the body was read")

    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/oauth/token", "SERVER_NAME": "test",
               "SERVER_PORT": "80", "wsgi.url_scheme": "http", "CONTENT_LENGTH": str(200 << 20),
               "wsgi.input": Untouchable(), "CONTENT_TYPE": "application/json"}
    statuses: list[str] = []
    body = b"".join(app.wsgi_app(environ, lambda status, headers: statuses.append(status)))
    assert statuses == ["413 Request Entity Too Large"]
    assert json.loads(body)["status"] == "ERROR"


def test_a_body_of_unknown_length_is_cut_at_the_limit(client: FlaskClient) -> None:
    answer = client.post("/oauth/token", input_stream=io.BytesIO(b"x" * 100_000),
                         headers={"Transfer-Encoding": "chunked",
                                  "Content-Type": "application/json"})
    refused(answer, 413)
    answer = client.post("/oauth/token", input_stream=io.BytesIO(b'{"grant_type": "x"}'),
                         headers={"Transfer-Encoding": "chunked",
                                  "Content-Type": "application/json"})
    assert refused(answer)["field"] == "client_id"


def test_uploads_take_what_the_setting_allows(db: Database, settings: Any,
                                              authority: Any) -> None:
    from dataclasses import replace

    from satellite.web import create_app
    small = create_app(replace(settings, max_upload_mb=1), db).test_client()
    answer = small.post("/sync/preview", data=b"x" * ((1 << 20) + 1),
                        headers={"Content-Type": "multipart/form-data; boundary=x"})
    assert "1 MiB" in refused(answer, 413)["error"]
    # Within the limit it reaches the page (which asks for a sign-in first).
    answer = small.post("/sync/preview", data=b"x" * 2048,
                        headers={"Content-Type": "multipart/form-data; boundary=x"})
    assert answer.status_code != 413


# --- 10: no 500, a 400 naming the field ---------------------------------------------------

@pytest.mark.parametrize("path", OAUTH_PATHS)
def test_deep_json_on_oauth_is_a_400(client: FlaskClient, path: str) -> None:
    answer = client.post(path, data=DEEP[:8000] + b"}" * 10,
                         headers={"Content-Type": "application/json"})
    assert "nested" in refused(answer)["error"] or "JSON" in refused(answer)["error"]


@pytest.mark.parametrize("path", DEVICE_PATHS)
def test_deep_json_on_the_device_protocol_is_a_400(client: FlaskClient, path: str) -> None:
    answer = client.post(path, data=DEEP[:60_000], headers=SIGNED)
    refused(answer)
    answer = client.post(path, data=b"[" * 5000 + b"]" * 5000, headers=SIGNED)
    assert "nested" in refused(answer)["error"]


def ascii_signed(client: Any, clock: FixedClock, message_type: str,
                 fields: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
    """A signed message written as ASCII JSON, so that it can carry a lone surrogate."""
    document = {"protocol": PROTOCOL, "type": message_type, "timestamp": format_time(clock.now()),
                "nonce": new_nonce(), **fields}
    if client.device_id is not None:
        document["deviceId"] = client.device_id
    raw = json.dumps(document).encode()
    return raw, signature_headers(signing.sign(client.private_key, raw))


def test_lone_surrogates_and_nul_in_registration_are_400s_naming_the_field(
        db: Database, actor: Actor, sealer: TokenSealer, site: Site, clock: FixedClock,
        transport: FlaskTransport) -> None:
    token = make_token(db, actor, sealer)
    for fields, field in (
            ({"hostname": "sw\ud800"}, "hostname"), ({"hostname": "sw\x00"}, "hostname"),
            ({"hostname": "sw\r\nforged"}, "hostname"), ({"productTag": "t\x1b[31m"}, "productTag"),
            ({"udi": {"pid": "P\ud800", "sn": "S"}}, "udi"),
            ({"udi": {"pid": "C9300", "sn": "S\nforged"}}, "sn")):
        client = device(transport, clock)
        body = {"token": token, "udi": {"pid": "C9300-24T", "sn": "FOC1"},
                "publicKey": client.public_key_b64, **fields}
        raw, headers = ascii_signed(client, clock, "register", body)
        reply = transport.request("POST", "/api/device/v1/register", raw, headers)
        assert reply.status == 400, (fields, reply.body)
        assert json.loads(reply.body)["field"] == field, reply.body
    with db.reader() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Device)) == 0


def test_a_tag_with_a_lone_surrogate_in_a_usage_report_is_a_400(
        db: Database, actor: Actor, sealer: TokenSealer, site: Site, clock: FixedClock,
        transport: FlaskTransport) -> None:
    client = device(transport, clock)
    client.register(make_token(db, actor, sealer), "C9300-24T", "FOC1")
    raw, headers = ascii_signed(client, clock, "usage", {"usage": {TAG + "\ud800": 1}})
    reply = transport.request("POST", "/api/device/v1/usage", raw, headers)
    assert reply.status == 400
    assert json.loads(reply.body)["field"] == "usage"


def test_nul_in_a_url_or_query_is_a_400_not_a_database_error(
        client: FlaskClient, bearer: Callable[..., dict[str, str]], site: Site) -> None:
    headers = bearer("Acme")
    for path in ("/api/v1/accounts/Ac%00me/virtual-accounts", "/api/v1/accounts?search=a%00b"):
        answer = client.get(path, headers=headers)
        assert answer.status_code == 400, (path, answer.get_data(as_text=True))


# --- 11: log and console injection ----------------------------------------------------------

def test_a_newline_in_a_url_does_not_forge_a_request_log_line(
        client: FlaskClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="satellite.requests"):
        client.get("/nowhere%0a127.0.0.1 GET /admin 200")
    lines = [r.getMessage() for r in caplog.records if r.name == "satellite.requests"]
    assert lines and all("\n" not in line for line in lines)
    assert any("\\n127.0.0.1" in line for line in lines)


def _legacy_rows(db: Database, site: Site, clock: FixedClock) -> None:
    """Rows written before input was checked: control characters in stored text."""
    from datetime import timedelta
    with db.uow() as uow:
        record(uow, Actor("cli", "t"), "test.forge", "device:x\n2026-01-01\tforged\tline")
        raise_alert(uow.session, "forge", "backup_failed", "real\nFORGED ALERT", clock.now())
        uow.session.add(Device(
            pid="P\r\nFORGED", serial="S1", hostname="h\x1b[2J", va_id=site.va_id,
            account_id=1, public_key=b"k" * 32, certificate_pem="", certificate_serial="1",
            certificate_expires_at=clock.now() - timedelta(days=1), status="REGISTERED",
            registered_at=clock.now() - timedelta(days=400), first_registered_at=clock.now(),
            last_contact_at=clock.now() - timedelta(days=400), registrations=1, token_id=None,
            export_controlled=False))
        uow.commit()


def test_audit_alert_and_age_devices_output_escape_control_characters(
        db: Database, site: Site, clock: FixedClock, cli: Callable[..., CliResult]) -> None:
    _legacy_rows(db, site, clock)
    audit = cli("audit", "list")
    assert audit.code == 0
    assert "\n2026-01-01" not in audit.out and "x\\n2026-01-01\\tforged" in audit.out
    alerts = cli("alert", "list")
    assert "real\\nFORGED ALERT" in alerts.out and "\nFORGED" not in alerts.out
    aged = cli("maintenance", "age-devices", "--dry-run")
    assert aged.code == 0, aged.err
    assert "P\\r\\nFORGED" in aged.out and "\r" not in aged.out
    listed = cli("device", "list")
    assert "\x1b" not in listed.out and "h\\x1b[2J" in listed.out


def test_control_characters_are_refused_where_they_have_no_meaning(
        cli: Callable[..., CliResult], site: Site) -> None:
    made = cli("va", "create", "Acme", "Lab\nforged")
    assert made.code != 0 and made.err.count("\n") == 1
    made = cli("account", "create", "Evil\x9b31m\x7f", "--domain", "evil.example.com")
    assert made.code != 0 and made.err.count("\n") == 1 and "\x1b" not in made.err


def test_bytes_that_are_not_utf8_on_the_command_line_are_one_line(
        cli: Callable[..., CliResult], site: Site) -> None:
    result = cli("va", "create", "Acme", "Lab\udcff")
    assert result.code != 0 and result.err.count("\n") == 1 and "command line" in result.err


def test_a_device_usage_message_with_a_huge_device_id_is_a_400(
        client: FlaskClient, clock: FixedClock) -> None:
    from satellite.crypto import keys
    key = keys.generate_private_key()
    for device_id in (10**30, 2**40, 2**31, 0, -1):
        raw, headers = build_request("usage", device_id, {"usage": {}}, clock.now(),
                                     lambda data: signing.sign(key, data))
        answer = client.post("/api/device/v1/usage", data=raw, headers=headers)
        assert refused(answer).get("field") in ("deviceId", None), device_id

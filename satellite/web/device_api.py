"""Device protocol v1 over HTTP: a thin adapter over satellite.devices (see docs/device-protocol.md).

Usage reports are served by satellite.web.device_usage, in front of Flask; the rest is here.

Every answer is signed by the satellite's identity key over its exact bytes; errors are JSON
(`{"status": "ERROR", "error": "..."}`) with 400, 401, 409 or 422 and are not signed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, request

from satellite.config import Settings
from satellite.devices import registration
from satellite.devices.authority import DeviceAuthority, load_authority
from satellite.devices.checkin import CheckinWriter
from satellite.devices.messages import (
    KEY_ID_HEADER,
    SIGNATURE_HEADER,
    MessageError,
    SignedMessage,
    parse_request,
)
from satellite.devices.verification import ClockSkew, DeviceSession, authenticate
from satellite.uow import Database, UnitOfWork
from satellite.web.device_usage import UsageEndpoint
from satellite.web.errors import error_document, error_headers
from satellite.web.metrics import request_metrics

Handler = Callable[[UnitOfWork, DeviceSession, SignedMessage], dict[str, Any]]

bp = Blueprint("device_api", __name__, url_prefix="/api/device/v1")
_EXTENSION = "satellite.device_api"


class _Mounted:
    """What the device protocol needs of the app it is mounted on; keys are read once, at the
    first request."""

    def __init__(self, settings: Settings, db: Database, authority: DeviceAuthority | None) -> None:
        self.settings, self.db = settings, db
        self._authority = authority
        self.registrations = registration.RegistrationWriter(db, settings, self.keys)

    def keys(self) -> DeviceAuthority:
        if self._authority is None:
            self._authority = load_authority(self.settings)
        return self._authority


def _mounted() -> _Mounted:
    mounted: _Mounted = current_app.extensions[_EXTENSION]
    return mounted


def _parse(message_type: str) -> SignedMessage:
    # Header names are case-insensitive on the wire; the message module takes a plain dict.
    headers = {name: request.headers.get(name, "") for name in (KEY_ID_HEADER, SIGNATURE_HEADER)}
    return parse_request(request.get_data(cache=False), headers, message_type)


@bp.errorhandler(ClockSkew)
def _skewed(exc: ClockSkew) -> Any:
    # Counted, so that many devices off the same way make /readyz doubt our clock.
    _mounted().db.clock_watch.note_skew(exc.device_id, exc.skew_seconds)
    return jsonify(error_document(exc.message)), exc.http_status, error_headers(exc)


@bp.errorhandler(MessageError)
def _bad_message(exc: MessageError) -> Any:
    return jsonify(error_document(str(exc), exc.field)), 400


def _respond(document: dict[str, Any]) -> Response:
    raw, headers = _mounted().keys().answer(document)
    return Response(raw, status=200, headers=headers)


def _signed(message_type: str, handler: Handler) -> Response:
    message = _parse(message_type)
    mounted = _mounted()
    # One transaction: authentication (with its nonce), the change, and the audit event.
    with mounted.db.uow() as uow:
        device = authenticate(uow.session, message, uow.clock.now(),
                              mounted.settings.message_max_age_seconds)
        document = handler(uow, device, message)
        uow.commit()
    return _respond(document)


@bp.post("/register")
def register() -> Response:
    # Registrations that arrive together share a transaction (group commit).
    return _respond(_mounted().registrations.register(_parse("register")))


@bp.post("/renew")
def renew() -> Response:
    mounted = _mounted()
    return _signed("renew", lambda uow, device, message:
                   registration.renew(uow, mounted.keys(), mounted.settings, device, message))


@bp.post("/deregister")
def deregister() -> Response:
    return _signed("deregister", registration.deregister)


@bp.get("/ca")
def ca() -> Response:
    """The device CA chain, for devices that pin it before registering."""
    return _respond({"type": "ca", "caChain": _mounted().keys().ca_chain})


def init_app(app: Flask, settings: Settings, db: Database,
             authority: DeviceAuthority | None = None) -> None:
    """Mount the device protocol on `app`."""
    mounted = _Mounted(settings, db, authority)
    app.extensions[_EXTENSION] = mounted
    app.register_blueprint(bp)
    # Usage reports, the bulk of the traffic, are served in front of Flask (device_usage.py).
    app.wsgi_app = UsageEndpoint(app.wsgi_app, CheckinWriter(db, settings),  # type: ignore[method-assign]
                                 mounted.keys, request_metrics(app))

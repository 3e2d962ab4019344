"""POST /api/device/v1/usage: the device check-in, served as plain WSGI in front of Flask.

Check-ins are most of a satellite's traffic, so this one endpoint skips Flask's routing,
request context and session machinery; everything else goes on to the Flask app. What the
endpoint does is the same as through Flask: the message is parsed and checked by
satellite.devices, recorded by the process's CheckinWriter (group commit), answered signed
by the satellite's identity key; errors are the same JSON documents (satellite.web.errors),
the answer carries the same security headers and X-Request-Id, and the request is counted
and logged by the same RequestMetrics.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import TYPE_CHECKING, Any

from satellite.devices.authority import DeviceAuthority
from satellite.devices.checkin import CheckinWriter
from satellite.devices.messages import (
    KEY_ID_HEADER,
    MAX_MESSAGE_BYTES,
    MESSAGE_TYPES,
    SIGNATURE_HEADER,
    MessageError,
    parse_request,
)
from satellite.errors import SatelliteError
from satellite.web.errors import error_document, error_headers
from satellite.web.metrics import RequestMetrics
from satellite.web.security import security_headers

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

log = logging.getLogger(__name__)

PATH = MESSAGE_TYPES["usage"]
_KEY_ID = "HTTP_" + KEY_ID_HEADER.upper().replace("-", "_")
_SIGNATURE = "HTTP_" + SIGNATURE_HEADER.upper().replace("-", "_")
_JSON = "application/json"
_STATUS_LINES = {status.value: f"{status.value} {status.phrase}" for status in HTTPStatus}

Answer = tuple[int, bytes, list[tuple[str, str]]]


def _error(status: int, message: str, headers: Iterable[tuple[str, str]] = (),
           field: str | None = None) -> Answer:
    body = json.dumps(error_document(message, field), sort_keys=True).encode() + b"\n"
    return status, body, [("Content-Type", _JSON), *headers]


def read_signed(environ: WSGIEnvironment) -> tuple[bytes, dict[str, str]]:
    """A signed request's exact bytes and its signature headers, as parse_request takes them."""
    return _read_body(environ), {KEY_ID_HEADER: environ.get(_KEY_ID, ""),
                                 SIGNATURE_HEADER: environ.get(_SIGNATURE, "")}


def _read_body(environ: WSGIEnvironment) -> bytes:
    # One byte past the limit is enough for parse_request to refuse an oversized message.
    stream = environ["wsgi.input"]
    try:
        length = int(environ.get("CONTENT_LENGTH") or -1)
    except ValueError:
        length = -1
    limit = MAX_MESSAGE_BYTES + 1
    data: bytes = stream.read(limit if length < 0 else min(length, limit))
    return data


class UsageEndpoint:
    """WSGI middleware: serves PATH itself and hands every other request to `app`."""

    def __init__(self, app: WSGIApplication, writer: CheckinWriter,
                 keys: Callable[[], DeviceAuthority], metrics: RequestMetrics) -> None:
        self._app = app
        self._writer = writer
        self._keys = keys
        self._metrics = metrics

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != PATH:
            return self._app(environ, start_response)
        started = time.perf_counter()
        method = environ.get("REQUEST_METHOD", "")
        request_id = self._metrics.request_id(environ.get("HTTP_X_REQUEST_ID", ""))
        try:
            if method != "POST":
                status, body, headers = _error(405, "The method is not allowed for the "
                                                    "requested URL.", [("Allow", "POST")])
            else:
                status, body, headers = self._check_in(environ)
        except Exception:
            log.exception("device usage report failed (request %s)", request_id)
            status, body, headers = _error(500, "The server encountered an internal error and "
                                                "was unable to complete your request.")
        headers += [*security_headers(_JSON), ("X-Request-Id", request_id),
                    ("Content-Length", str(len(body)))]
        start_response(_STATUS_LINES.get(status, str(status)), headers)
        self._metrics.finish(PATH, method, PATH, status, time.perf_counter() - started,
                             request_id, environ.get("REMOTE_ADDR"))
        return [body]

    def _check_in(self, environ: WSGIEnvironment) -> Answer:
        try:
            message = parse_request(*read_signed(environ), "usage")
            document: dict[str, Any] = self._writer.report(message)
        except MessageError as exc:
            return _error(400, str(exc), field=exc.field)
        except SatelliteError as exc:
            return _error(exc.http_status, exc.message, error_headers(exc).items(), exc.field)
        answer, headers = self._keys().answer(document)
        return 200, answer, list(headers.items())

"""Request body limits per route, enforced in front of everything else, before the body is read.

A body announced (Content-Length) above its route's limit is refused at once; a body without
a length (chunked) is read up to the limit and refused past it. Either way the answer is 413
with the JSON error every endpoint uses, and the application behind never sees the request.
The limits are listed in docs/input-limits.md.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Iterable
from typing import IO, TYPE_CHECKING

from werkzeug.wsgi import ClosingIterator

from satellite.config import Settings
from satellite.devices.messages import MAX_MESSAGE_BYTES
from satellite.web.errors import error_document
from satellite.web.metrics import RequestMetrics
from satellite.web.security import security_headers

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

KIB = 1024
MIB = 1024 * KIB
# Sign-in, password change and token requests: a few short fields.
SIGN_IN_BYTES = 8 * KIB
# Every other form and REST body: lists of product instances or licenses fit with room to spare.
DEFAULT_BYTES = 1 * MIB
SIGN_IN_PATHS = ("/oauth/", "/backend/oauth/", "/sign-in", "/password", "/api/v1/me/password")
DEVICE_PREFIX = "/api/device/v1/"
# File uploads: sync bundles in the web UI, usage files (SLUP) over REST.
UPLOAD_PATHS = ("/sync/preview", "/sync/inspect")
UPLOAD_SUFFIXES = ("/usage-reports",)
_SPOOL = 1 * MIB
_CHUNK = 64 * KIB


def upload_limit(settings: Settings) -> int:
    return settings.max_upload_mb * MIB


def limit_for(path: str, settings: Settings) -> int:
    """The largest body `path` accepts, in bytes."""
    if path.startswith(DEVICE_PREFIX):
        return MAX_MESSAGE_BYTES
    if path.startswith(SIGN_IN_PATHS):
        return SIGN_IN_BYTES
    if path in UPLOAD_PATHS or path.endswith(UPLOAD_SUFFIXES):
        return upload_limit(settings)
    return DEFAULT_BYTES


def _size(limit: int) -> str:
    return f"{limit // MIB} MiB" if limit >= MIB and limit % MIB == 0 else f"{limit // KIB} KiB"


class BodyLimits:
    """WSGI middleware: refuses oversized bodies with 413, hands the rest to `app`."""

    def __init__(self, app: WSGIApplication, settings: Settings, metrics: RequestMetrics) -> None:
        self._app = app
        self._settings = settings
        self._metrics = metrics

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        path = environ.get("PATH_INFO", "")
        limit = limit_for(path, self._settings)
        announced = environ.get("CONTENT_LENGTH") or ""
        if announced:
            try:
                length = int(announced)
            except ValueError:
                length = -1
            if length < 0:
                return self._refuse(environ, start_response, started, 400,
                                    "the Content-Length header is not a byte count")
            if length > limit:
                return self._too_large(environ, start_response, started, limit)
        elif "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower() \
                or environ.get("wsgi.input_terminated"):
            # A body of unknown length (waitress itself sets the length of chunked bodies).
            spool = self._spool(environ, limit)
            if spool is None:
                return self._too_large(environ, start_response, started, limit)
            return ClosingIterator(self._app(environ, start_response), spool.close)
        return self._app(environ, start_response)

    @staticmethod
    def _spool(environ: WSGIEnvironment, limit: int) -> IO[bytes] | None:
        """Read a body of unknown length up to `limit` (None past it); the app then reads
        the spooled copy, with its length set."""
        source = environ["wsgi.input"]
        spool = tempfile.SpooledTemporaryFile(max_size=_SPOOL)  # noqa: SIM115 (closed by the caller)
        size = 0
        while chunk := source.read(min(_CHUNK, limit + 1 - size)):
            size += len(chunk)
            if size > limit:
                spool.close()
                return None
            spool.write(chunk)
        spool.seek(0)
        environ["wsgi.input"] = spool
        environ["CONTENT_LENGTH"] = str(size)
        return spool

    def _too_large(self, environ: WSGIEnvironment, start_response: StartResponse,
                   started: float, limit: int) -> Iterable[bytes]:
        return self._refuse(environ, start_response, started, 413,
                            f"the request body is larger than {_size(limit)}, "
                            "the limit for this path")

    def _refuse(self, environ: WSGIEnvironment, start_response: StartResponse, started: float,
                status: int, message: str) -> Iterable[bytes]:
        body = json.dumps(error_document(message), sort_keys=True).encode() + b"\n"
        request_id = self._metrics.request_id(environ.get("HTTP_X_REQUEST_ID", ""))
        phrase = "Request Entity Too Large" if status == 413 else "Bad Request"
        start_response(f"{status} {phrase}", [
            ("Content-Type", "application/json"), *security_headers("application/json"),
            ("X-Request-Id", request_id), ("Content-Length", str(len(body)))])
        method, path = environ.get("REQUEST_METHOD", ""), environ.get("PATH_INFO", "")
        self._metrics.finish("(body limit)", method, path, status,
                             time.perf_counter() - started, request_id, environ.get("REMOTE_ADDR"))
        return [body]

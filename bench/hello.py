"""The baselines: a bare Flask app served by waitress like the satellite.

GET /hello answers a small JSON document: the benchmark's baseline.

With --device-key and --identity-key, POST /api/device/v1/usage is the signature floor: the
check-in's two Ed25519 operations and nothing else, served in front of Flask as the satellite
serves check-ins. It parses a device's usage report as the satellite does, verifies its
signature with the one device key it was given and checks its timestamp, and answers an
authorization document of the same shape, signed with the identity key; no database, no nonce
kept, every tag AUTHORIZED. A check-in served this way (waitress, Python, `cryptography`) that
verifies the report and signs the answer cannot be faster than this on the same machine.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from flask import Flask, jsonify

from satellite.config import Settings
from satellite.crypto.keys import PublicKey, load_private_key, load_public_key
from satellite.crypto.signing import Signer
from satellite.devices.checkin import parse_usage
from satellite.devices.messages import (
    AUTHORIZED,
    MESSAGE_TYPES,
    PROTOCOL,
    MessageError,
    encode,
    format_time,
    parse_request,
    signature_headers,
)
from satellite.devices.verification import check_fresh, check_signature
from satellite.errors import SatelliteError, Unauthenticated
from satellite.server import batch_scheduling
from satellite.web.device_usage import read_signed
from satellite.web.httpchannel import create_http_server

if TYPE_CHECKING:
    from collections.abc import Iterable

    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

# The satellite's defaults, so that the floor checks and answers what a check-in does.
DEFAULTS = Settings()


class SignatureFloor:
    """WSGI middleware: serves the usage path itself (as the satellite does, in front of Flask)."""

    def __init__(self, app: WSGIApplication, device_key: PublicKey, identity: Signer) -> None:
        self._app = app
        self._device_key = device_key
        self._identity = identity

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != MESSAGE_TYPES["usage"]:
            return self._app(environ, start_response)
        try:
            raw = self._answer(environ)
        except (MessageError, SatelliteError) as exc:
            error = encode({"status": "ERROR", "error": str(exc)})
            start_response("401 Unauthorized" if isinstance(exc, Unauthenticated)
                           else "400 Bad Request",
                           [("Content-Type", "application/json"),
                            ("Content-Length", str(len(error)))])
            return [error]
        answer = signature_headers(self._identity.sign(raw))
        start_response("200 OK", [*answer.items(), ("Content-Length", str(len(raw)))])
        return [raw]

    def _answer(self, environ: WSGIEnvironment) -> bytes:
        """The authorization document for a report signed by the device key (not yet signed)."""
        message = parse_request(*read_signed(environ), "usage")
        now = datetime.now(UTC)
        check_signature(self._device_key, message)
        check_fresh(message, now, DEFAULTS.message_max_age_seconds)
        usage = parse_usage(message.body)
        tags = [{"tag": tag, "count": count, "status": AUTHORIZED, "quantity": 10**9,
                 "inUse": count, "available": 10**9 - count} for tag, count in sorted(usage.items())]
        return encode({"protocol": PROTOCOL, "type": "authorization",
                       "deviceId": message.device_id, "requestNonce": message.nonce,
                       "timestamp": format_time(now), "status": AUTHORIZED, "tags": tags,
                       "authorizationExpiresAt": format_time(
                           now + timedelta(days=DEFAULTS.authorization_valid_days)),
                       "nextCallAt": format_time(
                           now + timedelta(days=DEFAULTS.authorization_renew_days)),
                       "certificateExpiresAt": format_time(
                           now + timedelta(days=DEFAULTS.certificate_days))})


def create_app(device_key: PublicKey | None = None, identity: Signer | None = None) -> Flask:
    app = Flask(__name__)

    @app.get("/hello")
    def hello() -> object:
        return jsonify(message="hello")

    if device_key is not None and identity is not None:
        app.wsgi_app = SignatureFloor(app.wsgi_app, device_key, identity)  # type: ignore[method-assign]
    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--device-key", type=Path, help="PEM public key the floor verifies with")
    parser.add_argument("--identity-key", type=Path, help="PEM private key the floor signs with")
    args = parser.parse_args()
    if (args.device_key is None) != (args.identity_key is None):
        parser.error("--device-key and --identity-key go together")
    device_key = load_public_key(args.device_key) if args.device_key else None
    identity = Signer(load_private_key(args.identity_key)) if args.identity_key else None
    batch_scheduling()  # scheduled as `satellite serve` is
    # Served as `satellite serve` serves: the same waitress server and channel.
    create_http_server(create_app(device_key, identity), host="127.0.0.1", port=args.port,
                       threads=args.threads, ident="hello").run()


if __name__ == "__main__":
    main()

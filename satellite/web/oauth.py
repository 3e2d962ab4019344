"""OAuth 2 token endpoints (`/oauth/...`, and under the On-Prem prefix `/backend/oauth/...`)."""

from __future__ import annotations

import base64
import binascii
from typing import Any

from flask import Blueprint, Flask, jsonify, request

from satellite.access.apiclients import issue_token, revoke_token
from satellite.errors import InvalidInput
from satellite.web.http import body, field, register_api, write

bp = Blueprint("oauth", __name__)


def _client_credentials(data: dict[str, Any]) -> tuple[str, str]:
    """From the body, or from HTTP Basic authentication as RFC 6749 prefers."""
    header = request.headers.get("Authorization", "")
    if header.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            raise InvalidInput("the Basic authorization header is malformed") from None
        client_id, _, secret = decoded.partition(":")
        return client_id, secret
    return field(data, "client_id"), field(data, "client_secret")


def _token_request() -> dict[str, Any]:
    """The token request's fields: the body's, else the query string's, where On-Prem's own
    examples put them (`POST /oauth/token?grant_type=client_credentials&client_id=...`).
    Request logs never show a query string."""
    return {**request.args.to_dict(), **body()}


@bp.post("/oauth/token")
def token() -> Any:
    data = _token_request()
    client_id, secret = _client_credentials(data)
    grant_type = field(data, "grant_type")
    username = field(data, "username", required=False) or None
    password = data.get("password")
    if password is not None and not isinstance(password, str):
        raise InvalidInput("'password' must be a string")
    issued = write(lambda uow: issue_token(uow, grant_type, client_id, secret, username, password,
                                           source=request.remote_addr or ""))
    response = jsonify(access_token=issued.access_token, token_type="bearer",  # noqa: S106
                       expires_in=issued.expires_in)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.post("/oauth/revoke")
def revoke() -> Any:
    value = field(body(), "token")
    write(lambda uow: revoke_token(uow, value))
    return jsonify(status="SUCCESS")




def init_app(app: Flask) -> None:
    register_api(app, bp)

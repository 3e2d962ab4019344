"""How a domain error reads over HTTP: the JSON body and headers, the same on every endpoint."""

from __future__ import annotations

from satellite.errors import SatelliteError, TooManyRequests, Unauthenticated


def error_document(message: str) -> dict[str, str]:
    return {"status": "ERROR", "statusMessage": message, "error": message}


def error_headers(exc: SatelliteError) -> dict[str, str]:
    headers = {}
    if isinstance(exc, Unauthenticated):
        headers["WWW-Authenticate"] = 'Bearer realm="satellite"'
    if isinstance(exc, TooManyRequests):
        headers["Retry-After"] = str(exc.retry_after)
    return headers

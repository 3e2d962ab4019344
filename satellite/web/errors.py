"""How a domain error reads over HTTP: the JSON body and headers, the same on every endpoint."""

from __future__ import annotations

from satellite.errors import SatelliteError, StorageUnavailable, TooManyRequests, Unauthenticated


def error_document(message: str, field: str | None = None) -> dict[str, str]:
    """The JSON error body; `field` (the input the error is about) only when there is one."""
    document = {"status": "ERROR", "statusMessage": message, "error": message}
    if field:
        document["field"] = field
    return document


def error_headers(exc: SatelliteError) -> dict[str, str]:
    headers = {}
    if isinstance(exc, Unauthenticated):
        headers["WWW-Authenticate"] = 'Bearer realm="satellite"'
    if isinstance(exc, TooManyRequests):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, StorageUnavailable):
        headers["Retry-After"] = "60"
    return headers

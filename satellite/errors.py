"""Domain errors. Each adapter maps them in one place (HTTP status, CLI exit code, UI flash)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


class SatelliteError(Exception):
    """Base of every error a user may see; the message is the user-facing explanation.

    `field` names the input the error is about (a service's parameter name, such as "domain"),
    when there is one: forms show the message next to it, the REST API names it.
    """

    http_status = 400
    exit_code = 1

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class InvalidInput(SatelliteError):
    http_status = 400
    exit_code = 2


class NotFound(SatelliteError):
    http_status = 404
    exit_code = 3


class Conflict(SatelliteError):
    http_status = 409
    exit_code = 4


class Unauthenticated(SatelliteError):
    http_status = 401
    exit_code = 5


class PermissionDenied(SatelliteError):
    http_status = 403
    exit_code = 5


class TooManyRequests(SatelliteError):
    """Too many attempts (logins, token requests): the caller must wait and retry."""

    http_status = 429
    exit_code = 5

    def __init__(self, message: str, retry_after: int = 1, *, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.retry_after = retry_after


class VerificationFailed(SatelliteError):
    """A signature, checksum or integrity check failed: nothing was applied."""

    http_status = 422
    exit_code = 6


class ConfigError(SatelliteError):
    exit_code = 2


class StorageUnavailable(SatelliteError):
    """The satellite cannot write its data (disk full, read-only): nothing was changed, and
    the same request succeeds once the storage is writable again."""

    http_status = 503
    exit_code = 7


@contextmanager
def about(field: str, *kinds: type[SatelliteError]) -> Iterator[None]:
    """Errors of `kinds` (any SatelliteError by default) raised inside are about the input
    `field`, unless they already name one: e.g. a lookup by a name the caller typed."""
    try:
        yield
    except SatelliteError as exc:
        if exc.field is None and isinstance(exc, kinds or SatelliteError):
            exc.field = field
        raise

"""A small keep-alive HTTP client: one connection per caller, reopened when it breaks."""

from __future__ import annotations

import http.client
import ssl
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit


class Unreachable(OSError):
    """The satellite could not be reached (connection refused, reset, timed out)."""


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: bytes


class HttpTransport(Protocol):
    """What a DeviceClient sends through: this module's Transport, or a test double."""

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> Reply: ...


class Transport:
    def __init__(self, base_url: str, timeout: float = 10.0, ca_file: str | None = None) -> None:
        parts = urlsplit(base_url.rstrip("/"))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{base_url!r} is not an http(s) URL")
        self.base_url = base_url.rstrip("/")
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port
        self._prefix = parts.path
        self._timeout = timeout
        self._context = ssl.create_default_context(cafile=ca_file) if self._https else None
        self._conn: http.client.HTTPConnection | None = None

    def _connection(self) -> http.client.HTTPConnection:
        if self._conn is None:
            if self._https:
                self._conn = http.client.HTTPSConnection(self._host, self._port,
                                                         timeout=self._timeout,
                                                         context=self._context)
            else:
                self._conn = http.client.HTTPConnection(self._host, self._port,
                                                        timeout=self._timeout)
        return self._conn

    def request(self, method: str, path: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> Reply:
        """Send one request. Raises Unreachable when no answer came back."""
        try:
            conn = self._connection()
            conn.request(method, self._prefix + path, body=body, headers=headers or {})
            response = conn.getresponse()
            data = response.read()
        except (OSError, http.client.HTTPException) as exc:
            self.close()
            raise Unreachable(f"cannot reach the satellite at {self.base_url}: {exc}") from None
        if response.getheader("Connection", "").lower() == "close":
            self.close()
        return Reply(response.status, {k.lower(): v for k, v in response.getheaders()}, data)

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

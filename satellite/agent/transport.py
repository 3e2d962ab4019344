"""A small keep-alive HTTP client: one connection per caller, reopened when it breaks."""

from __future__ import annotations

import http.client
import ssl
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urlsplit


class Unreachable(OSError):
    """The satellite could not be reached (connection refused, reset, timed out)."""


class TlsFailure(Exception):
    """A TLS connection was refused by this side: the certificate is not trusted or does not
    name the host, or the server does not speak TLS. Retrying cannot help; the message says
    what to fix."""


def tls_failure(base_url: str, host: str, exc: ssl.SSLError) -> TlsFailure:
    """Name a TLS error the way an operator can act on it."""
    if isinstance(exc, ssl.SSLCertVerificationError):
        reason = exc.verify_message or str(exc)
        # 62: host name mismatch, 64: IP address mismatch (OpenSSL verify codes).
        if exc.verify_code in (62, 64) or "mismatch" in reason.lower():
            return TlsFailure(
                f"the satellite's TLS certificate at {base_url} does not name {host} (name "
                "mismatch): use the URL the certificate names, or install a certificate for "
                "this name on the satellite (`satellite tls`)")
        if exc.verify_code == 10 or "expired" in reason.lower():  # 10: certificate expired
            return TlsFailure(f"the satellite's TLS certificate at {base_url} has expired")
        return TlsFailure(
            f"the satellite's TLS certificate at {base_url} is not trusted ({reason}: unknown "
            "CA): give the agent the CA that issued it with --ca-file")
    if "WRONG_VERSION_NUMBER" in str(exc) or "record layer failure" in str(exc):
        return TlsFailure(f"{base_url} does not answer TLS (a plain-HTTP server on that port?): "
                          "check the URL's scheme and port")
    return TlsFailure(f"TLS with {base_url} failed: {exc.reason or exc}")


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
        except ssl.SSLError as exc:
            self.close()
            raise tls_failure(self.base_url, self._host, exc) from None
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

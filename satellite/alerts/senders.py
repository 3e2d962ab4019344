"""The transports: email through the site's SMTP relay, syslog, and a signed webhook.

Each checks its target when a channel is added, and raises DeliveryFailed with one line
(never a password, secret or URL query) when a send does not go through.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import ipaddress
import json
import logging
import smtplib
import socket
import ssl
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, getaddresses, make_msgid
from logging.handlers import SysLogHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

from satellite.alerts.models import CRITICAL, EMAIL, SYSLOG, WARNING, WEBHOOK
from satellite.config import Settings
from satellite.errors import InvalidInput, SatelliteError

SIGNATURE_HEADER = "X-Satellite-Signature"
TIMESTAMP_HEADER = "X-Satellite-Timestamp"
DELIVERY_HEADER = "X-Satellite-Delivery"


class DeliveryFailed(SatelliteError):
    http_status = 502
    exit_code = 1


@dataclass(frozen=True)
class Notice:
    """One alert as a channel receives it."""

    kind: str
    severity: str
    message: str
    key: str
    account: str | None  # the account's domain; None for alerts of the appliance
    raised_at: str
    satellite_id: str
    alert_id: int | None = None  # None for a channel test
    delivery_id: int | None = None
    attempt: int = 1

    def subject(self) -> str:
        where = self.account or "appliance"
        first_line = self.message.splitlines()[0] if self.message else ""
        return f"[Satellite {self.severity}] {self.kind} ({where}): {first_line}"[:200]

    def payload(self) -> dict[str, Any]:
        return {"event": "alert", "satellite_id": self.satellite_id,
                "delivery_id": self.delivery_id, "attempt": self.attempt,
                "alert": {"id": self.alert_id, "key": self.key, "kind": self.kind,
                          "severity": self.severity, "message": self.message,
                          "account": self.account, "raised_at": self.raised_at}}


def check_target(kind: str, target: str, allow_local: bool = False) -> str:
    """The target in its stored form. Raises InvalidInput naming what is wrong, also for a
    webhook or syslog host on a loopback or link-local address unless `allow_local`."""
    target = target.strip()
    if kind == EMAIL:
        return ", ".join(_addresses(target))
    if kind == SYSLOG:
        _syslog_address(target)
    elif kind == WEBHOOK:
        parts = urlsplit(target)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise InvalidInput(f"webhook target {_safe_url(target)!r} is not an http(s) URL")
    if kind in (SYSLOG, WEBHOOK):
        host = _network_host(kind, target)
        if host is not None and not allow_local:
            _refuse_local(host, f"{kind} target")
        return target
    raise InvalidInput(f"unknown channel kind {kind!r} (email, syslog or webhook)")


# Hosts an alert must not reach unless the settings file allows it (alert_allow_local_targets):
# this machine's own services and the link-local range (cloud metadata, neighbours' services).
_LOCAL_NAMES = ("localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback")


def _network_host(kind: str, target: str) -> str | None:
    """The host a webhook or syslog channel sends to over the network (None for a local
    syslog socket such as /dev/log, and for email, which goes through the site's relay)."""
    if kind == WEBHOOK:
        return urlsplit(target).hostname
    if kind == SYSLOG:
        address = _syslog_address(target)[0]
        return address[0] if isinstance(address, tuple) else None
    return None


def _is_local(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_loopback or ip.is_link_local or ip.is_unspecified


def _refuse_local(host: str, what: str, error: type[Exception] = InvalidInput) -> None:
    """Raise `error` when `host` is, or resolves to, a loopback or link-local address. A name
    that does not resolve (yet) passes here; delivery checks again before connecting."""
    name = host.strip("[]").rstrip(".").lower()
    addresses = {name}
    if name in _LOCAL_NAMES or name.endswith(".localhost"):
        addresses.add("127.0.0.1")
    else:
        with contextlib.suppress(OSError, UnicodeError):
            addresses |= {str(info[4][0]) for info in socket.getaddrinfo(name, None)}
    if any(_is_local(a) for a in addresses):
        raise error(f"{what} {host!r} is a loopback or link-local address, which alerts may "
                    "reach only when the settings file allows it (alert_allow_local_targets)")


def send(kind: str, target: str, secret: str | None, notice: Notice, settings: Settings,
         timestamp: int) -> None:
    """Deliver the notice through one channel. Raises DeliveryFailed."""
    host = _network_host(kind, target)
    if host is not None and not settings.alert_allow_local_targets:
        # Checked again at each delivery: a name may resolve elsewhere than when it was added.
        _refuse_local(host, f"{kind} target", error=DeliveryFailed)
    if kind == EMAIL:
        _send_email(settings, _addresses(target), notice)
    elif kind == SYSLOG:
        _send_syslog(target, notice)
    elif kind == WEBHOOK:
        _send_webhook(target, secret, notice, settings.alert_timeout_seconds, timestamp)
    else:
        raise DeliveryFailed(f"unknown channel kind {kind!r}")


# Email ------------------------------------------------------------------------------------

def _addresses(target: str) -> list[str]:
    if any(c in target for c in "\r\n"):
        raise InvalidInput("email target must be one line of addresses")
    found = [addr for _, addr in getaddresses([target]) if addr]
    bad = [a for a in found if a.count("@") != 1 or a.startswith("@") or a.endswith("@")]
    if not found or bad:
        raise InvalidInput(f"email target {target!r} is not a comma-separated list of addresses")
    return found


def _send_email(settings: Settings, to: list[str], notice: Notice) -> None:
    host, port = settings.alert_smtp_host, settings.alert_smtp_port
    if not host:
        raise DeliveryFailed("no SMTP relay is configured (setting alert_smtp_host)")
    password = _smtp_password(settings)
    mail = EmailMessage()
    mail["Subject"] = notice.subject()
    mail["From"] = settings.alert_smtp_from
    mail["To"] = ", ".join(to)
    mail["Date"] = format_datetime(datetime.fromisoformat(notice.raised_at))
    mail["Message-ID"] = make_msgid(domain="satellite.invalid")
    mail.set_content(_email_body(notice))
    try:
        with smtplib.SMTP(host, port, timeout=settings.alert_timeout_seconds) as smtp:
            if settings.alert_smtp_starttls:
                context = ssl.create_default_context(cafile=settings.alert_smtp_ca_file or None)
                smtp.starttls(context=context)
            if settings.alert_smtp_username:
                smtp.login(settings.alert_smtp_username, password)
            smtp.send_message(mail)
    except smtplib.SMTPResponseException as exc:
        text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) \
            else str(exc.smtp_error)
        raise DeliveryFailed(f"SMTP relay {host}:{port} answered {exc.smtp_code} {text}") from None
    except (smtplib.SMTPException, OSError, ssl.SSLError) as exc:
        raise DeliveryFailed(f"SMTP relay {host}:{port}: {type(exc).__name__}: {exc}") from None


def _smtp_password(settings: Settings) -> str:
    if not settings.alert_smtp_password_file:
        return ""
    path = Path(settings.alert_smtp_password_file)
    try:
        return path.read_text().strip()
    except OSError as exc:
        raise DeliveryFailed(f"setting alert_smtp_password_file: cannot read {path}: "
                             f"{exc.strerror}") from None


def _email_body(notice: Notice) -> str:
    lines = [notice.message, "",
             f"Severity:  {notice.severity}",
             f"Kind:      {notice.kind}",
             f"Account:   {notice.account or '(the appliance)'}",
             f"Raised at: {notice.raised_at}",
             f"Alert key: {notice.key}",
             f"Satellite: {notice.satellite_id}"]
    if notice.delivery_id is not None:
        lines.append(f"Delivery:  {notice.delivery_id} (attempt {notice.attempt})")
    lines += ["", "See `satellite alert list` or the Alerts page of the Satellite UI."]
    return "\n".join(lines) + "\n"


# Syslog -----------------------------------------------------------------------------------

_LEVELS = {CRITICAL: logging.CRITICAL, WARNING: logging.WARNING}


def _syslog_address(target: str) -> tuple[str | tuple[str, int], int]:
    """(address, facility) from "udp://host:port[?facility=local0]" or "/dev/log[?...]"."""
    parts = urlsplit(target)
    facility_name = parse_qs(parts.query).get("facility", ["user"])[0]
    facility = SysLogHandler.facility_names.get(facility_name)
    if facility is None:
        raise InvalidInput(f"syslog facility {facility_name!r} is unknown (e.g. user, local0)")
    if parts.scheme == "udp":
        try:
            port = parts.port or 514
        except ValueError:
            raise InvalidInput(f"syslog target {target!r} has a bad port") from None
        if not parts.hostname:
            raise InvalidInput(f"syslog target {target!r} names no host")
        return (parts.hostname, port), facility
    path = parts.path if parts.scheme in ("", "unix") else ""
    if not path.startswith("/"):
        raise InvalidInput(f"syslog target {target!r} is neither udp://HOST:PORT nor a "
                           "socket path such as /dev/log")
    return path, facility


class _RaisingSysLogHandler(SysLogHandler):
    def handleError(self, record: logging.LogRecord) -> None:
        raise  # called from emit's except block: re-raise what failed


def _send_syslog(target: str, notice: Notice) -> None:
    address, facility = _syslog_address(target)
    level = _LEVELS.get(notice.severity, logging.INFO)
    text = " ".join(f"[{notice.severity}] {notice.kind} {notice.account or 'appliance'}: "
                    f"{notice.message} (key={notice.key})".split())
    try:
        handler = _RaisingSysLogHandler(address=address, facility=facility)
    except OSError as exc:
        raise DeliveryFailed(f"syslog {target}: {exc.strerror or exc}") from None
    handler.ident = "satellite: "
    try:
        handler.emit(logging.LogRecord("satellite.alerts", level, __file__, 0, text, None, None))
    except OSError as exc:
        raise DeliveryFailed(f"syslog {target}: {exc.strerror or exc}") from None
    finally:
        handler.close()


# Webhook ----------------------------------------------------------------------------------

def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The X-Satellite-Signature value: HMAC-SHA256 over "<timestamp>." + body."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def _safe_url(url: str) -> str:
    """The URL without credentials or query, which may carry a collector's key."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _send_webhook(url: str, secret: str | None, notice: Notice, timeout: float,
                  timestamp: int) -> None:
    body = json.dumps(notice.payload(), sort_keys=True).encode()
    headers = {"Content-Type": "application/json", "User-Agent": "satellite-alerts",
               TIMESTAMP_HEADER: str(timestamp)}
    if notice.delivery_id is not None:
        headers[DELIVERY_HEADER] = str(notice.delivery_id)
    if secret:
        headers[SIGNATURE_HEADER] = signature(secret, timestamp, body)
    with requests.Session() as session:
        # A local collector: never through a proxy named in the environment.
        session.trust_env = False
        try:
            response = session.post(url, data=body, headers=headers, timeout=timeout,
                                    allow_redirects=False)
        except requests.RequestException as exc:
            raise DeliveryFailed(f"webhook {_safe_url(url)}: {type(exc).__name__}") from None
    if not 200 <= response.status_code < 300:
        raise DeliveryFailed(f"webhook {_safe_url(url)} answered HTTP {response.status_code}")

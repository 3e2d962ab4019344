"""The TLS certificate the reverse proxy serves to devices: requesting, installing, watching expiry.

Files live under <data_dir>/tls: `fullchain.pem` (the certificate then its intermediates) and
`privkey.pem` (0600), the two paths the shipped nginx site configuration names.
"""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from cryptography import x509

from satellite.config import Settings
from satellite.crypto import tls
from satellite.errors import Conflict, InvalidInput

EXPIRY_WARNING_DAYS = 30
_HOSTNAME = re.compile(r"^(?=.{1,253}$)(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*"
                       r"[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")


@dataclass(frozen=True)
class InstalledCertificate:
    info: tls.CertificateInfo
    chain_length: int
    files: tuple[Path, ...]
    notes: list[str] = field(default_factory=list)


def tls_dir(settings: Settings) -> Path:
    return settings.data_dir / "tls"


def parse_hostname(value: str) -> str:
    host = value.strip().lower().rstrip(".")
    if not _HOSTNAME.match(host):
        raise InvalidInput(f"{value!r} is not a host name such as satellite.example.internal")
    return host


def parse_ips(values: list[str]) -> list[tls.IPAddress]:
    result = []
    for value in values:
        try:
            result.append(ipaddress.ip_address(value.strip()))
        except ValueError:
            raise InvalidInput(f"{value!r} is not an IP address") from None
    return result


def _write(path: Path, data: bytes, mode: int) -> None:
    """Write atomically with the mode set before any byte lands."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    return path


def request(settings: Settings, hostname: str, ips: list[str]) -> tuple[Path, Path]:
    """Write a new key and a CSR for the site's CA. Returns (key path, CSR path).

    Raises Conflict when a request for this host is already pending (its key would be lost).
    """
    host = parse_hostname(hostname)
    addresses = parse_ips(ips)
    pending = _mkdir(tls_dir(settings) / "pending")
    key_path, csr_path = pending / f"{host}.key", pending / f"{host}.csr"
    if key_path.exists():
        raise Conflict(f"a request for {host} is pending already ({key_path}); install its certificate "
                       "or remove that key first")
    key = tls.new_private_key()
    _write(key_path, tls.private_key_pem(key), 0o600)
    _write(csr_path, tls.certificate_request(key, host, addresses), 0o644)
    return key_path, csr_path


def self_signed(settings: Settings, hostname: str, ips: list[str], now: datetime,
                days: int = 365) -> InstalledCertificate:
    """Make and install a self-signed certificate (for labs; devices must be told to trust it)."""
    if not 1 <= days <= 825:
        raise InvalidInput("a self-signed certificate must last between 1 and 825 days")
    key = tls.new_private_key()
    cert = tls.self_signed_certificate(key, parse_hostname(hostname), parse_ips(ips), now, days)
    return install(settings, cert, tls.private_key_pem(key), b"", now)


def _name(cert: x509.Certificate) -> str:
    return cert.subject.rfc4514_string() or "(empty subject)"


def _check_dates(cert: x509.Certificate, now: datetime) -> None:
    if now < cert.not_valid_before_utc:
        raise InvalidInput(f"certificate {_name(cert)} is not valid until "
                           f"{cert.not_valid_before_utc:%Y-%m-%d %H:%M} UTC (check this machine's clock)")
    if now > cert.not_valid_after_utc:
        raise InvalidInput(f"certificate {_name(cert)} expired on {cert.not_valid_after_utc:%Y-%m-%d}")


def _is_ca(cert: x509.Certificate) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def build_chain(certs: list[x509.Certificate]) -> list[x509.Certificate]:
    """Order leaf -> ... -> self-signed root. Raises InvalidInput when a link is missing or broken."""
    path, pool = [certs[0]], certs[1:]
    current = certs[0]
    while not tls.is_self_issued(current):
        issuer = next((c for c in pool if c not in path and tls.issued_by(current, c)), None)
        if issuer is None:
            named = [c for c in pool if c.subject == current.issuer]
            if named:
                raise InvalidInput(f"the chain is broken: {_name(named[0])} did not sign {_name(current)} "
                                   "(its signature does not verify with that CA's key)")
            raise InvalidInput(f"the chain is incomplete: nothing in it issued {_name(current)}; "
                               f"add the certificate of {current.issuer.rfc4514_string()} "
                               "(and the CAs above it) with --chain")
        if not _is_ca(issuer):
            raise InvalidInput(f"the chain is broken: {_name(issuer)} is not a CA certificate")
        path.append(issuer)
        current = issuer
    return path


def _host_matches(pattern: str, host: str) -> bool:
    pattern = pattern.lower().rstrip(".")
    if pattern.startswith("*."):
        head, _, rest = host.partition(".")
        return bool(head) and rest == pattern[2:]
    return pattern == host


def check_names(info: tls.CertificateInfo, device_url: str) -> str:
    """Return the device-facing host. Raises InvalidInput when the certificate does not cover it."""
    host = (urlsplit(device_url).hostname or "").lower()
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is not None:
        covered = any(ipaddress.ip_address(ip) == address for ip in info.ip_addresses)
    else:
        covered = any(_host_matches(name, host) for name in info.dns_names)
    if not covered:
        names = ", ".join(info.dns_names + info.ip_addresses) or "no subjectAltName at all"
        raise InvalidInput(f"the certificate's names ({names}) do not cover {host}, the host of the "
                           f"device_url setting ({device_url}); devices would refuse it. Get a certificate "
                           "for that name, or correct device_url")
    return host


def install(settings: Settings, cert_pem: bytes, key_pem: bytes, chain_pem: bytes,
            now: datetime) -> InstalledCertificate:
    """Check a certificate, its key and chain, then install them for the reverse proxy.

    Raises InvalidInput naming what is wrong; nothing is written unless every check passes.
    """
    certs = tls.load_certificates(cert_pem, "the certificate file")
    if chain_pem.strip():
        certs += tls.load_certificates(chain_pem, "the chain file")
    key = tls.load_private_key(key_pem, "the key file")
    leaf = certs[0]
    if not tls.key_matches(leaf, key):
        raise InvalidInput("the key does not belong to the certificate (their public keys differ)")
    chain = build_chain(certs)
    for cert in chain:
        _check_dates(cert, now)
    info = tls.describe(leaf)
    host = check_names(info, settings.device_url)
    directory = _mkdir(tls_dir(settings))
    served = [c for c in chain if not tls.is_self_issued(c)] or [leaf]
    fullchain, privkey = directory / "fullchain.pem", directory / "privkey.pem"
    _write(privkey, key_pem, 0o600)
    _write(fullchain, tls.encode_certificates(served), 0o644)
    notes = []
    if urlsplit(settings.device_url).scheme != "https":
        notes.append(f"device_url is {settings.device_url}: set it to https://{host}/ so devices use TLS")
    if len(chain) == 1:
        notes.append("the certificate is self-signed: devices must be given it to trust")
    pending = tls_dir(settings) / "pending" / f"{host}.key"
    if pending.exists() and pending.read_bytes() == key_pem:
        pending.unlink()
        pending.with_suffix(".csr").unlink(missing_ok=True)
    return InstalledCertificate(info, len(chain), (fullchain, privkey), notes)


def installed(settings: Settings) -> tls.CertificateInfo | None:
    path = tls_dir(settings) / "fullchain.pem"
    if not path.exists():
        return None
    return tls.describe(tls.load_certificates(path.read_bytes(), str(path))[0])


def warnings(settings: Settings, now: datetime) -> list[str]:
    """Plain-language warnings about the installed certificate (none when all is well)."""
    info = installed(settings)
    if info is None:
        return []
    found = _expiry_warnings(info, now)
    try:
        check_names(info, settings.device_url)
    except InvalidInput:
        names = ", ".join(info.dns_names + info.ip_addresses) or "no names"
        host = urlsplit(settings.device_url).hostname or settings.device_url
        found.append(f"the TLS certificate ({names}) does not cover {host}, the host of "
                      f"device_url ({settings.device_url}): devices will refuse the connection; "
                      "install a certificate for that name or correct device_url")
    return found


def _expiry_warnings(info: tls.CertificateInfo, now: datetime) -> list[str]:
    days_left = (info.not_after - now).days
    if now > info.not_after:
        return [f"the TLS certificate expired on {info.not_after:%Y-%m-%d}: devices cannot connect; "
                "install a new one with `satellite tls install`"]
    if days_left < EXPIRY_WARNING_DAYS:
        return [f"the TLS certificate expires in {days_left} days ({info.not_after:%Y-%m-%d}); "
                "install a new one with `satellite tls install`"]
    return []

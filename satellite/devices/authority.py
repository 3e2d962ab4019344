"""The satellite's keys as the device protocol uses them: loaded once per process, then reused."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from satellite.crypto import certificates, signing
from satellite.crypto.keys import PrivateKey, PublicKey, public_key_from_raw
from satellite.devices.messages import encode, signature_headers


@dataclass(frozen=True)
class IssuedCertificate:
    pem: str
    serial: str
    expires_at: datetime


class DeviceAuthority:
    """Signs answers with the identity key and issues ID certificates from the device CA."""

    def __init__(self, identity_key: PrivateKey, ca_key: PrivateKey, ca_certificate: bytes) -> None:
        self._identity = identity_key
        self._ca_key = ca_key
        self.ca_certificate = ca_certificate

    @property
    def ca_chain(self) -> list[str]:
        return [self.ca_certificate.decode()]

    def issue(self, device_key: PublicKey, common_name: str, now: datetime,
              days: int) -> IssuedCertificate:
        pem = certificates.issue_certificate(
            self._ca_key, self.ca_certificate, device_key, common_name=common_name, now=now,
            days=days, organization="Satellite device")
        info = certificates.describe(pem)
        return IssuedCertificate(pem.decode(), format(info.serial, "x"), info.not_after)

    def answer(self, document: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
        """Encode an answer and sign its exact bytes."""
        raw = encode(document)
        return raw, signature_headers(signing.sign(self._identity, raw))


@lru_cache(maxsize=65536)
def device_public_key(raw: bytes) -> PublicKey:
    """Parsed device keys, cached: every check-in verifies with one."""
    return public_key_from_raw(raw)

"""The satellite's keys as the device protocol uses them: loaded once per process, then reused."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any

from cryptography.hazmat.primitives.serialization import Encoding

from satellite.config import Settings
from satellite.crypto import certificates, signing
from satellite.crypto.keys import (
    PrivateKey,
    PublicKey,
    public_key_from_raw,
    raw_public_bytes,
)
from satellite.devices.messages import PROTOCOL, encode, signature_headers
from satellite.keystore import open_keystore


@dataclass(frozen=True)
class IssuedCertificate:
    pem: str
    serial: str
    expires_at: datetime


class DeviceAuthority:
    """Signs answers with the identity key and issues ID certificates from the device CA."""

    def __init__(self, identity: signing.Signer, ca_key: PrivateKey, ca_certificate: bytes) -> None:
        self._signer = identity
        self._issuer = certificates.Issuer(ca_key, ca_certificate)
        self.ca_certificate = ca_certificate
        self._ca_chain = [ca_certificate.decode()]

    @property
    def identity_public_key(self) -> str:
        """Base64 of the raw identity public key: devices pin it to verify answers."""
        return base64.b64encode(raw_public_bytes(self._signer.public_key)).decode()

    @property
    def ca_chain(self) -> list[str]:
        return list(self._ca_chain)

    def issue(self, device_key: PublicKey, common_name: str, now: datetime,
              days: int) -> IssuedCertificate:
        cert = self._issuer.issue(device_key, common_name=common_name, now=now, days=days,
                                  organization="Satellite device")
        return IssuedCertificate(cert.public_bytes(Encoding.PEM).decode(),
                                 format(cert.serial_number, "x"), cert.not_valid_after_utc)

    def answer(self, document: dict[str, Any]) -> tuple[bytes, dict[str, str]]:
        """Encode an answer and sign its exact bytes."""
        raw = encode({"protocol": PROTOCOL, **document})
        return raw, signature_headers(self._signer.sign(raw))


@lru_cache(maxsize=65536)
def device_public_key(raw: bytes) -> PublicKey:
    """Parsed device keys, cached: every check-in verifies with one."""
    return public_key_from_raw(raw)


def load_authority(settings: Settings) -> DeviceAuthority:
    """Read the identity key and device CA from the data dir's keystore (once per process)."""
    store = open_keystore(settings)
    return DeviceAuthority(store.identity_signer(), store.device_ca_key(),
                           store.device_ca_certificate())

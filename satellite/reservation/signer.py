"""What the satellite signs authorization codes with: its identity key, certified by Central.

A device trusts a satellite key only through the certificate Central issued for it at
registration, so a satellite without a valid certificate for its current identity key makes
no authorization code: the device could never verify it, and the pool would hold licenses
for a code that cannot be installed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from satellite.clock import as_utc
from satellite.cloudsync.central_registration import satellite_certificate
from satellite.crypto import certificates
from satellite.crypto.signing import Signer
from satellite.errors import Conflict
from satellite.keystore import Keystore
from satellite.uow import Database

REGISTER = "register it with Central first (`satellite sync register`, see docs/sync.md)"


@dataclass(frozen=True)
class CodeSigner:
    signer: Signer
    certificate: bytes | None  # PEM; None while the satellite is not registered

    @property
    def key_id(self) -> str:
        return self.signer.key_id

    def chain(self, now: datetime) -> bytes:
        """The certificate chain a device needs, once checked usable at `now`.

        Raises Conflict when the satellite is not registered, or its certificate is for
        another key or is not valid at `now`.
        """
        if self.certificate is None:
            raise Conflict("this satellite has no certificate from Central, so devices cannot "
                           f"verify its authorization codes: {REGISTER}")
        info = certificates.describe(self.certificate)
        if info.public_key_id != self.key_id:
            raise Conflict(f"the satellite certificate certifies key {info.public_key_id}, not "
                           f"the identity key {self.key_id}: register again (`satellite sync "
                           "register`) to have the new key certified")
        now = as_utc(now)
        if now >= info.not_after:
            raise Conflict(f"the satellite certificate expired at {info.not_after.isoformat()}: "
                           "register again (`satellite sync register`) to renew it")
        if now < info.not_before:
            raise Conflict(f"the satellite certificate is not valid before "
                           f"{info.not_before.isoformat()}; check this satellite's clock")
        return self.certificate


def code_signer(db: Database, keystore: Keystore) -> CodeSigner:
    """The identity key and the certificate Central issued for it (None when unregistered)."""
    with db.reader() as uow:
        certificate = satellite_certificate(uow.session, keystore)
    return CodeSigner(keystore.identity_signer(), certificate)

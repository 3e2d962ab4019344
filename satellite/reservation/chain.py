"""What makes a satellite key trustworthy to a device: a certificate chain up to Central.

The device holds Central's public key (its trust anchor, burned in by the vendor). The
satellite hands over its certificate chain: the satellite certificate first, then any
intermediate certificates, the last one issued by the anchor. The device checks it here and
then trusts the certified key for authorization codes while its certificate is valid.
The rules are specified in docs/reservation-codes.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from satellite.clock import as_utc
from satellite.crypto import certificates, keys
from satellite.errors import InvalidInput, VerificationFailed

MAX_CHAIN = 4


@dataclass(frozen=True)
class CertifiedKey:
    """A satellite key and the certificate that vouches for it."""

    key_id: str
    public: keys.PublicKey
    subject: str
    not_before: datetime
    not_after: datetime
    chain: bytes  # PEM, the satellite certificate first: what is kept and checked again

    def check_valid(self, at: datetime) -> None:
        """Raises VerificationFailed unless the certificate is valid at `at`."""
        at = as_utc(at)
        if at < self.not_before:
            raise VerificationFailed(
                f"the satellite certificate for key {self.key_id} ({self.subject}) is not valid "
                f"before {self.not_before.isoformat()}; check this device's clock")
        if at >= self.not_after:
            raise VerificationFailed(
                f"the satellite certificate for key {self.key_id} ({self.subject}) expired at "
                f"{self.not_after.isoformat()}: the satellite must register with Central again "
                "and give this device its new chain")


def read_anchor(data: bytes, source: str) -> keys.PublicKey:
    """Central's key from its public key file (central.pub) or its certificate. Raises
    InvalidInput."""
    if b"BEGIN CERTIFICATE" in data:
        return certificates.certified_key(certificates.split_pem(data, source)[0])
    return keys.public_key_from_pem(data, source=source)


def verify_chain(chain: bytes | Sequence[bytes], anchors: Sequence[keys.PublicKey],
                 at: datetime) -> CertifiedKey:
    """Check a satellite's certificate chain against the device's trust anchors at `at`.

    Returns the certified satellite key. Raises VerificationFailed naming what is wrong
    (no anchor, untrusted issuer, expired, not for signing), InvalidInput for unreadable text.
    """
    pems = certificates.split_pem(chain, "the certificate chain") if isinstance(chain, bytes) \
        else list(chain)
    if not pems:
        raise InvalidInput("the certificate chain holds no certificate")
    if len(pems) > MAX_CHAIN:
        raise VerificationFailed(f"the certificate chain has {len(pems)} certificates; "
                                 f"at most {MAX_CHAIN} are accepted")
    if not anchors:
        raise VerificationFailed("this device has no Central trust anchor: run `reservation "
                                 "trust-anchor FILE` with Central's public key first")
    infos = [certificates.describe(pem) for pem in pems]
    leaf = infos[0]
    if leaf.is_ca:
        raise VerificationFailed(f"the first certificate of the chain ({leaf.subject}) is a CA "
                                 "certificate, not a satellite certificate")
    if not leaf.may_sign:
        raise VerificationFailed(f"the satellite certificate ({leaf.subject}) does not allow its "
                                 "key to make signatures (key usage)")
    for below in range(len(pems) - 1):
        issuer = infos[below + 1]
        if not issuer.may_certify:
            raise VerificationFailed(f"{issuer.subject} in the chain may not issue certificates")
        if not certificates.signed_by(pems[below], certificates.certified_key(pems[below + 1])):
            raise VerificationFailed(f"the certificate {infos[below].subject} in the chain was "
                                     f"not issued by the next one ({issuer.subject})")
    top, top_info = pems[-1], infos[-1]
    if not any(certificates.signed_by(top, anchor) for anchor in anchors):
        trusted = ", ".join(sorted(keys.key_id(a) for a in anchors))
        raise VerificationFailed(
            f"the certificate chain is issued by {top_info.issuer}, which is not a Central this "
            f"device trusts (trust anchors: {trusted})")
    at = as_utc(at)
    for info in infos[1:]:
        if not info.not_before <= at < info.not_after:
            raise VerificationFailed(f"the certificate {info.subject} in the chain is not valid "
                                     f"at {at.isoformat()} (valid {info.not_before.isoformat()} "
                                     f"to {info.not_after.isoformat()})")
    certified = CertifiedKey(leaf.public_key_id, certificates.certified_key(pems[0]),
                             leaf.subject, leaf.not_before, leaf.not_after, b"".join(pems))
    certified.check_valid(at)
    return certified

"""Which key verifies which kind of bundle, the one rule every reader of a sync file uses."""

from __future__ import annotations

from dataclasses import dataclass

from satellite.cloudsync.envelope import BundleReader, Header
from satellite.cloudsync.records import REGISTRATION_REQUEST, USAGE_BATCH
from satellite.cloudsync.service import LocalView, SignatureStatus, check_signature
from satellite.crypto import keys
from satellite.keystore import Keystore


@dataclass(frozen=True)
class TrustedKey:
    key: keys.PublicKey | None
    whose: str  # "Central's", "this satellite's", ...
    missing: str  # why there is no key, when key is None


def trusted_key(keystore: Keystore, header: Header, local: LocalView | None) -> TrustedKey:
    """The key a bundle of this kind must verify with.

    A registration request verifies with the key it carries (it asks Central to certify that
    key); a usage batch with this satellite's identity key if this satellite wrote it; every
    other kind with Central's key, the trust anchor.
    """
    if header.kind == REGISTRATION_REQUEST:
        pem = header.fields.get("public_key")
        if not isinstance(pem, str):
            return TrustedKey(None, "", "the request carries no public key")
        return TrustedKey(keys.public_key_from_pem(pem.encode(), "the request's public key"),
                          "the requesting satellite's", "")
    if header.kind == USAGE_BATCH:
        if local is None or header.sender != local.satellite_id:
            return TrustedKey(None, "", "the batch was written by another satellite")
        return TrustedKey(keystore.identity_public_key(), "this satellite's", "")
    return TrustedKey(keystore.central_key(), "Central's", "no Central key is configured")


def bundle_signature(bundle: BundleReader, keystore: Keystore, local: LocalView | None) -> SignatureStatus:
    """Whether the bundle verifies with the key its kind calls for, without raising."""
    trusted = trusted_key(keystore, bundle.header, local)
    return check_signature(bundle, trusted.key, trusted.whose, trusted.missing)

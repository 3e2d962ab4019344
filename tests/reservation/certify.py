"""A satellite certified by a Central key, for tests below the registration exchange.

The end-to-end tests register through the reference Central (`satellite sync register`);
service and web tests use this, which records the same kind of certificate: issued by a
Central key through its issuing certificate, for the satellite's identity key.
"""

from __future__ import annotations

from datetime import datetime

from satellite.config import Settings
from satellite.crypto import certificates, keys
from satellite.crypto.signing import Signer
from satellite.keystore import open_keystore, parse_central_key
from satellite.reservation.signer import CodeSigner


def issue(central: keys.PrivateKey, subject: keys.PublicKey, now: datetime, days: int = 730,
          common_name: str = "satellite-under-test") -> bytes:
    """A satellite certificate as the reference Central issues it."""
    issuer = certificates.create_ca_certificate(central, "Central test", now)
    return certificates.issue_certificate(central, issuer, subject, common_name=common_name,
                                          now=now, days=days)


def certify(settings: Settings, now: datetime) -> keys.PrivateKey:
    """Record a Central key as the trust anchor and a certificate for the identity key.

    Returns the Central key.
    """
    store = open_keystore(settings)
    store.ensure_keys("test", now)
    central = keys.generate_private_key()
    store.record_central_key(parse_central_key(
        keys.public_key_to_pem(keys.public_key_of(central)), "test"))
    store.record_satellite_certificate(issue(central, store.identity_public_key(), now))
    return central


def certified_signer(now: datetime) -> CodeSigner:
    """A signer whose key is certified by a fresh Central key."""
    key = keys.generate_private_key()
    return CodeSigner(Signer(key), issue(keys.generate_private_key(), keys.public_key_of(key), now))


"""Detached Ed25519 signatures that name their key, so keys can rotate while old ones verify."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature

from satellite.crypto.keys import PrivateKey, PublicKey, key_id, public_key_of
from satellite.errors import VerificationFailed

ALGORITHM = "Ed25519"


@dataclass(frozen=True)
class Signature:
    key_id: str
    value: str  # standard base64 of the 64 signature bytes

    def to_json(self) -> str:
        """Canonical one-line JSON form."""
        return json.dumps({"alg": ALGORITHM, "key_id": self.key_id, "sig": self.value},
                          sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Signature:
        """Parse the canonical form only; anything else is refused, not repaired."""
        try:
            data = json.loads(text)
        except ValueError:
            raise VerificationFailed("the signature is not valid JSON") from None
        if not isinstance(data, dict) or set(data) != {"alg", "key_id", "sig"}:
            raise VerificationFailed("the signature does not have the fields alg, key_id and sig")
        if data["alg"] != ALGORITHM:
            raise VerificationFailed(f"the signature algorithm {data['alg']!r} is not {ALGORITHM}")
        if not isinstance(data["key_id"], str) or not isinstance(data["sig"], str):
            raise VerificationFailed("the signature fields are not text")
        signature = cls(data["key_id"], data["sig"])
        if signature.to_json() != text:
            raise VerificationFailed("the signature is not in canonical form")
        return signature


class Signer:
    """A signing key as the rest of the appliance sees it: its public half, its key id, and
    signatures. Everything that signs with the satellite's identity key holds one of these
    (Keystore.identity_signer()), never the private key itself, so a key kept elsewhere (an
    HSM, a passphrase-protected file) changes only how a Signer is made.
    """

    __slots__ = ("_private", "key_id", "public_key")

    def __init__(self, private: PrivateKey) -> None:
        self._private = private
        self.public_key: PublicKey = public_key_of(private)
        self.key_id = key_id(self.public_key)

    def sign(self, data: bytes) -> Signature:
        """A detached signature naming its key."""
        return Signature(self.key_id, base64.b64encode(self.sign_raw(data)).decode("ascii"))

    def sign_raw(self, data: bytes) -> bytes:
        """The 64 bytes of an Ed25519 signature over `data` (for formats with their own framing)."""
        return self._private.sign(data)


def sign(private: PrivateKey, data: bytes) -> Signature:
    return Signer(private).sign(data)


def _decode(value: str) -> bytes:
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise VerificationFailed("the signature is not base64") from None
    # Base64 tolerates changed padding bits; a re-encoding that differs means a modified byte.
    if base64.b64encode(raw).decode("ascii") != value or len(raw) != 64:
        raise VerificationFailed("the signature is not a canonical Ed25519 signature")
    return raw


def verify(trusted: PublicKey | Iterable[PublicKey], data: bytes, signature: Signature,
           what: str = "the data") -> PublicKey:
    """Check `signature` over `data` by one of the trusted keys, chosen by key id.

    Returns the key that verified. Raises VerificationFailed naming what is wrong.
    """
    keys = [trusted] if isinstance(trusted, PublicKey) else list(trusted)
    by_id = {key_id(k): k for k in keys}
    public = by_id.get(signature.key_id)
    if public is None:
        expected = ", ".join(sorted(by_id)) or "none"
        raise VerificationFailed(
            f"{what} is signed by key {signature.key_id}, which is not trusted "
            f"(trusted: {expected})"
        )
    raw = _decode(signature.value)
    try:
        public.verify(raw, data)
    except InvalidSignature:
        raise VerificationFailed(
            f"the signature on {what} does not verify with key {signature.key_id}: "
            "it was modified after signing"
        ) from None
    return public

"""Ed25519 keys: generation, key ids, and PEM files (private keys 0600, optionally encrypted)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from satellite.errors import ConfigError, Conflict, InvalidInput

# Callers name key types through these aliases, never through `cryptography`.
PrivateKey = Ed25519PrivateKey
PublicKey = Ed25519PublicKey


def generate_private_key() -> PrivateKey:
    return Ed25519PrivateKey.generate()


def private_key_from_raw(data: bytes) -> PrivateKey:
    """A key from its 32-byte seed (RFC 8032 test vectors, deterministic fixtures)."""
    if len(data) != 32:
        raise InvalidInput(f"an Ed25519 private key is 32 bytes, not {len(data)}")
    return Ed25519PrivateKey.from_private_bytes(data)


def public_key_of(private: PrivateKey) -> PublicKey:
    return private.public_key()


def raw_public_bytes(public: PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def public_key_from_raw(data: bytes) -> PublicKey:
    if len(data) != 32:
        raise InvalidInput(f"an Ed25519 public key is 32 bytes, not {len(data)}")
    return Ed25519PublicKey.from_public_bytes(data)


def key_id(public: PublicKey) -> str:
    """First 16 hex characters of the SHA-256 of the raw public key."""
    return hashlib.sha256(raw_public_bytes(public)).hexdigest()[:16]


def public_key_to_pem(public: PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.PEM,
                               serialization.PublicFormat.SubjectPublicKeyInfo)


def public_key_from_pem(data: bytes, source: str = "the data") -> PublicKey:
    """Parse a PEM public key. Raises InvalidInput unless it is an Ed25519 public key."""
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, UnsupportedAlgorithm):
        raise InvalidInput(
            f"{source} is not a PEM public key (expected an Ed25519 public key)") from None
    if not isinstance(key, Ed25519PublicKey):
        raise InvalidInput(f"{source} holds a {type(key).__name__}, not an Ed25519 public key")
    return key


def private_key_to_pem(private: PrivateKey, passphrase: bytes | None = None) -> bytes:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(passphrase) if passphrase
        else serialization.NoEncryption()
    )
    return private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                 encryption)


def private_key_from_pem(data: bytes, passphrase: bytes | None = None,
                         source: str = "the data") -> PrivateKey:
    """Parse a PEM private key. Raises ConfigError on a missing or wrong passphrase."""
    try:
        key = serialization.load_pem_private_key(data, password=passphrase or None)
    except TypeError:
        if passphrase:
            raise ConfigError(
                f"{source} is not encrypted but a key passphrase is configured") from None
        raise ConfigError(f"{source} is encrypted: configure key_passphrase_file or "
                          "SATELLITE_KEY_PASSPHRASE") from None
    except (ValueError, UnsupportedAlgorithm):
        raise ConfigError(
            f"{source} cannot be read: wrong passphrase or not a PEM private key") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise ConfigError(f"{source} holds a {type(key).__name__}, not an Ed25519 private key")
    return key


def write_new_file(path: Path, content: bytes, mode: int) -> None:
    """Create a file with `mode` set before any byte is written; refuse to replace one."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    except FileExistsError:
        raise Conflict(f"{path} already exists; it is never replaced") from None
    with os.fdopen(fd, "wb") as fh:
        fh.write(content)
    os.chmod(path, mode)


def save_private_key(path: Path, private: PrivateKey, passphrase: bytes | None = None) -> None:
    write_new_file(path, private_key_to_pem(private, passphrase), 0o600)


def load_private_key(path: Path, passphrase: bytes | None = None) -> PrivateKey:
    return private_key_from_pem(path.read_bytes(), passphrase, source=str(path))


def save_public_key(path: Path, public: PublicKey) -> None:
    write_new_file(path, public_key_to_pem(public), 0o644)


def load_public_key(path: Path) -> PublicKey:
    return public_key_from_pem(path.read_bytes(), source=str(path))

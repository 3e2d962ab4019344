"""The satellite's keys under `<data_dir>/keys/`: identity key, device CA, Central's trust anchor.

Private keys are encrypted with the configured passphrase (file named by `key_passphrase_file`,
else `SATELLITE_KEY_PASSPHRASE`) or, without one, stored unencrypted; always mode 0600.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from satellite.config import Settings
from satellite.crypto import certificates, keys
from satellite.crypto.signing import Signer
from satellite.errors import ConfigError, Conflict, InvalidInput

PASSPHRASE_ENV = "SATELLITE_KEY_PASSPHRASE"  # noqa: S105 (the variable's name, not a secret)
IDENTITY_KEY = "identity.key"
IDENTITY_PUB = "identity.pub"
DEVICE_CA_KEY = "device-ca.key"
DEVICE_CA_CERT = "device-ca.crt"
CENTRAL_PUB = "central.pub"
SATELLITE_CERT = "satellite.crt"
# Signs the web UI's session cookies; not a key of the signing hierarchy.
SESSION_SECRET = "session.secret"  # noqa: S105 (a file name, not a secret)
DEVICE_CA_DAYS = 7300


def key_passphrase(settings: Settings, env: Mapping[str, str] | None = None) -> bytes | None:
    """The passphrase for private keys, or None. Raises ConfigError if its file is unusable."""
    env = os.environ if env is None else env
    if settings.key_passphrase_file:
        path = Path(settings.key_passphrase_file)
        try:
            value = path.read_bytes().rstrip(b"\r\n")
        except OSError as exc:
            raise ConfigError(
                f"setting key_passphrase_file: cannot read {path}: {exc.strerror}") from None
        if not value:
            raise ConfigError(f"setting key_passphrase_file: {path} is empty")
        return value
    from_env = env.get(PASSPHRASE_ENV, "")
    return from_env.encode() if from_env else None


@dataclass(frozen=True)
class CentralKey:
    """A parsed candidate trust anchor, checked before anything is written."""

    public: keys.PublicKey
    key_id: str


def parse_central_key(pem: bytes, source: str) -> CentralKey:
    """Raises InvalidInput unless `pem` is an Ed25519 public key."""
    public = keys.public_key_from_pem(pem, source=source)
    return CentralKey(public, keys.key_id(public))


class Keystore:
    def __init__(self, directory: Path, passphrase: bytes | None) -> None:
        self.directory = directory
        self._passphrase = passphrase

    def _path(self, name: str) -> Path:
        return self.directory / name

    def ensure_keys(self, satellite_id: str, now: datetime) -> list[str]:
        """Create whichever of the identity key and device CA is missing; never replace one.

        Returns a note per key created.
        """
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.directory, 0o700)
        notes: list[str] = []
        if not self._path(IDENTITY_KEY).exists():
            identity = keys.generate_private_key()
            keys.save_private_key(self._path(IDENTITY_KEY), identity, self._passphrase)
            keys.save_public_key(self._path(IDENTITY_PUB), keys.public_key_of(identity))
            notes.append(f"created the identity key {self.identity_key_id()}")
        elif not self._path(IDENTITY_PUB).exists():
            keys.save_public_key(self._path(IDENTITY_PUB), keys.public_key_of(self._identity_key()))
        if not self._path(DEVICE_CA_CERT).exists():
            ca_key = (self.device_ca_key() if self._path(DEVICE_CA_KEY).exists()
                      else self._new_device_ca_key())
            pem = certificates.create_ca_certificate(
                ca_key, f"Satellite {satellite_id} device CA", now, days=DEVICE_CA_DAYS)
            keys.write_new_file(self._path(DEVICE_CA_CERT), pem, 0o644)
            notes.append(f"created the device CA (key {keys.key_id(keys.public_key_of(ca_key))})")
        return notes

    def session_secret(self) -> bytes:
        """The web session secret, created (0600) the first time it is asked for."""
        path = self._path(SESSION_SECRET)
        if not path.exists():
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            # Another process may create it first; then theirs is read.
            with contextlib.suppress(Conflict):
                keys.write_new_file(path, secrets.token_hex(32).encode() + b"\n", 0o600)
        value = path.read_bytes().strip()
        if len(value) < 32:
            raise ConfigError(f"{path} is too short to be a session secret: delete it and run "
                              "`satellite init`")
        return value

    def _new_device_ca_key(self) -> keys.PrivateKey:
        ca_key = keys.generate_private_key()
        keys.save_private_key(self._path(DEVICE_CA_KEY), ca_key, self._passphrase)
        return ca_key

    def identity_signer(self) -> Signer:
        """The satellite's identity key, as a signer (the private key never leaves here)."""
        return Signer(self._identity_key())

    def _identity_key(self) -> keys.PrivateKey:
        return keys.load_private_key(self._require(IDENTITY_KEY), self._passphrase)

    def identity_public_key(self) -> keys.PublicKey:
        return keys.load_public_key(self._require(IDENTITY_PUB))

    def identity_key_id(self) -> str:
        return keys.key_id(self.identity_public_key())

    def device_ca_key(self) -> keys.PrivateKey:
        return keys.load_private_key(self._require(DEVICE_CA_KEY), self._passphrase)

    def device_ca_certificate(self) -> bytes:
        return self._require(DEVICE_CA_CERT).read_bytes()

    def central_key(self) -> keys.PublicKey | None:
        """Central's public key (the trust anchor), or None when none is recorded."""
        path = self._path(CENTRAL_PUB)
        return keys.load_public_key(path) if path.exists() else None

    def check_central_key(self, candidate: CentralKey) -> bool:
        """True if `candidate` still has to be recorded, False if it already is.

        Raises Conflict when a different anchor is recorded: it is never replaced silently.
        """
        current = self.central_key()
        if current is None:
            return True
        current_id = keys.key_id(current)
        if current_id != candidate.key_id:
            raise Conflict(
                f"a different Central key ({current_id}) is already recorded in "
                f"{self._path(CENTRAL_PUB)}; it is not replaced (new key {candidate.key_id})"
            )
        return False

    def record_central_key(self, candidate: CentralKey) -> bool:
        """Write the trust anchor. Returns False if that same key was recorded already."""
        if not self.check_central_key(candidate):
            return False
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        keys.save_public_key(self._path(CENTRAL_PUB), candidate.public)
        return True

    def satellite_certificate(self) -> bytes | None:
        """The certificate Central issued for the identity key, once registered."""
        path = self._path(SATELLITE_CERT)
        return path.read_bytes() if path.exists() else None

    def record_satellite_certificate(self, pem: bytes) -> None:
        """Keep the newest certificate Central issued (replaced whole, never half-written)."""
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        partial = self._path(SATELLITE_CERT + ".part")
        partial.unlink(missing_ok=True)
        keys.write_new_file(partial, pem, 0o644)
        os.replace(partial, self._path(SATELLITE_CERT))

    def describe(self) -> dict[str, object]:
        """Key ids and presence, readable without the passphrase (for `satellite status`)."""
        central = self.central_key()
        ca_path = self._path(DEVICE_CA_CERT)
        ca = certificates.describe(ca_path.read_bytes()) if ca_path.exists() else None
        return {
            "identity_key_id": (keys.key_id(keys.load_public_key(self._path(IDENTITY_PUB)))
                                if self._path(IDENTITY_PUB).exists() else None),
            "device_ca_key_id": ca.public_key_id if ca else None,
            "device_ca_expires": ca.not_after.isoformat() if ca else None,
            "central_key_id": keys.key_id(central) if central else None,
            "encrypted": self._path(IDENTITY_KEY).exists()
            and b"ENCRYPTED" in self._path(IDENTITY_KEY).read_bytes(),
        }

    def _require(self, name: str) -> Path:
        path = self._path(name)
        if not path.exists():
            raise ConfigError(f"{path} is missing: run `satellite init`")
        return path


def open_keystore(settings: Settings, env: Mapping[str, str] | None = None) -> Keystore:
    return Keystore(settings.data_dir / "keys", key_passphrase(settings, env))


def read_central_key_file(path: str | Path) -> CentralKey:
    """Read and parse a trust-anchor file. Raises InvalidInput with one clear line."""
    try:
        pem = Path(path).read_bytes()
    except OSError as exc:
        raise InvalidInput(f"cannot read Central key file {path}: {exc.strerror}") from None
    return parse_central_key(pem, f"Central key file {path}")

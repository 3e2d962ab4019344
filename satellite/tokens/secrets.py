"""Sealing token secrets: AES-256-GCM under a key kept in the data dir, never in the database.

A database dump alone does not reveal a token; an operator on the appliance (who can read the
data dir, like the satellite's own keys) can show it again.
"""

from __future__ import annotations

import base64
import hashlib
import os
from pathlib import Path

from satellite.crypto.sealing import KeySealer

KEY_DIR = "keys"
KEY_FILE = "token-seal.key"


class TokenSealer:
    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("a token sealing key is 32 bytes")
        self._sealer = KeySealer(key)
        self.key_id = hashlib.sha256(key).hexdigest()[:16]

    @classmethod
    def for_data_dir(cls, data_dir: Path) -> TokenSealer:
        """Load the data dir's sealing key, creating it (mode 0600) on first use.

        It lives in `keys/` beside the satellite's own keys, so backups carry it with them.
        """
        directory = Path(data_dir) / KEY_DIR
        path = directory / KEY_FILE
        if not path.exists():
            directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            # Write beside, then link into place: another process never reads a half-written key.
            tmp = path.with_name(f"{KEY_FILE}.{os.getpid()}.tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(base64.b64encode(os.urandom(32)).decode() + "\n")
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass
            finally:
                tmp.unlink()
        key = base64.b64decode(path.read_text().strip())
        return cls(key)

    def seal(self, secret: str, context: str) -> str:
        return base64.b64encode(self._sealer.seal(secret, context)).decode()

    def unseal(self, sealed: str, context: str) -> str:
        return self._sealer.unseal(base64.b64decode(sealed), context, "a token secret")


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()

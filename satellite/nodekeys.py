"""The key material every node serving one database must share, and the check that it does.

Each node reads its keys from its own `<data_dir>/keys/`. Nodes with different keys would sign
answers devices do not trust, issue certificates from another CA, refuse each other's session
cookies and fail to open each other's token secrets. So the database records a fingerprint of
the keys (key ids and digests, never a secret) and a node whose keys differ refuses to start.
Only PostgreSQL is served by several nodes; an SQLite database has one data dir.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from satellite.crypto import certificates, keys
from satellite.errors import ConfigError
from satellite.keystore import CENTRAL_PUB, DEVICE_CA_CERT, IDENTITY_PUB, SESSION_SECRET, Keystore
from satellite.state import StateEntry, lock_state, set_state
from satellite.tokens.secrets import KEY_FILE as TOKEN_SEAL_KEY
from satellite.uow import Database

STATE_KEY = "node_keys"
NAMES = {"identity": "the identity key", "device_ca": "the device CA",
         "central": "Central's key (trust anchor)", "session": "the web session secret",
         "token_seal": "the token sealing key"}


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes().strip()).hexdigest()[:16] if path.exists() else ""


def fingerprint(keystore: Keystore) -> dict[str, str]:
    """What identifies this node's keys; an empty value for a key it does not have."""
    directory = keystore.directory

    def public_id(name: str) -> str:
        path = directory / name
        return keys.key_id(keys.load_public_key(path)) if path.exists() else ""

    ca = directory / DEVICE_CA_CERT
    return {
        "identity": public_id(IDENTITY_PUB),
        "device_ca": certificates.describe(ca.read_bytes()).public_key_id if ca.exists() else "",
        "central": public_id(CENTRAL_PUB),
        "session": _digest(directory / SESSION_SECRET),
        "token_seal": _digest(directory / TOKEN_SEAL_KEY),
    }


def _recorded(session: Session) -> dict[str, str] | None:
    raw = lock_state(session, STATE_KEY)
    return json.loads(raw) if raw else None


def _refuse(keystore: Keystore, differ: list[str]) -> ConfigError:
    return ConfigError(
        f"the keys in {keystore.directory} differ from those of the other nodes serving this "
        f"database ({', '.join(NAMES[name] for name in differ)}): copy the keys/ directory of a "
        "running node here")


def check_before_init(session: Session, keystore: Keystore) -> None:
    """Refuse to let `satellite init` create keys beside another node's. Raises ConfigError."""
    recorded = _recorded(session)
    if recorded is None:
        return
    mine = fingerprint(keystore)
    differ = [name for name in NAMES if mine.get(name) != recorded.get(name)]
    if differ:
        raise _refuse(keystore, differ)


def record(session: Session, keystore: Keystore) -> None:
    """Record this node's keys as the ones every node must have (after `satellite init`)."""
    set_state(session, STATE_KEY, json.dumps(fingerprint(keystore), sort_keys=True))


def check_node(db: Database, keystore: Keystore) -> None:
    """Before serving: refuse keys that differ from the recorded ones; record them if none are.

    Raises ConfigError naming the keys that differ.
    """
    mine = fingerprint(keystore)
    with db.uow() as uow:
        session = uow.session
        insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
        # A database initialised before fingerprints were kept: the first node to start records
        # its keys (nodes starting at the same moment all compare with the one that won).
        session.execute(insert(StateEntry).values(key=STATE_KEY, value=json.dumps(mine, sort_keys=True))
                        .on_conflict_do_nothing())
        recorded = _recorded(session) or {}
        uow.commit()
    differ = [name for name in NAMES if mine.get(name) != recorded.get(name)]
    if differ:
        raise _refuse(keystore, differ)

"""A central with its key, and a satellite database that trusts it."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from satellite.cloudsync.envelope import write_bundle
from satellite.cloudsync.records import CENTRAL_RESPONSE
from satellite.cloudsync.service import SNAPSHOT
from satellite.config import Settings
from satellite.crypto import keys
from satellite.crypto.signing import Signer
from satellite.keystore import open_keystore, parse_central_key
from satellite.licenses.models import LicenseLine
from satellite.state import StateEntry, get_state
from satellite.uow import Database


@dataclass
class Central:
    key: keys.PrivateKey
    public_pem: bytes
    sender: str = "central-test"


@pytest.fixture
def central() -> Central:
    key = keys.generate_private_key()
    return Central(key, keys.public_key_to_pem(keys.public_key_of(key)))


@pytest.fixture
def satellite_id(db: Database) -> str:
    with db.reader() as uow:
        value = get_state(uow.session, "satellite_id")
    assert value
    return value


@pytest.fixture
def anchored(settings: Settings, db: Database, central: Central) -> Database:
    """The test database, with the central's key recorded as its trust anchor."""
    open_keystore(settings).record_central_key(parse_central_key(central.public_pem, "test"))
    return db


@pytest.fixture
def abc(anchored: Database) -> Database:
    """The trusting satellite with account ABC (abc.xyz.com), which Central's lines name."""
    from satellite.accounts.service import create_account
    from satellite.actor import Actor
    with anchored.uow() as uow:
        create_account(uow, Actor("cli", "tester"), "ABC", "abc.xyz.com")
        uow.commit()
    return anchored


ResponseWriter = Callable[..., Path]


@pytest.fixture
def response(tmp_path: Path, central: Central, satellite_id: str) -> ResponseWriter:
    """Write a signed response; by default a snapshot from the test central to this satellite."""
    counter = iter(range(1, 1000))

    def write(records: Iterable[Mapping[str, Any]], *, serial: int, recipient: str | None = None,
              key: keys.PrivateKey | None = None, fields: Mapping[str, Any] | None = None,
              kind: str = CENTRAL_RESPONSE) -> Path:
        path = tmp_path / f"response-{next(counter)}.bundle"
        from datetime import UTC, datetime

        write_bundle(path, kind=kind, sender=central.sender,
                     recipient=satellite_id if recipient is None else recipient,
                     serial=serial, created_at=datetime(2026, 3, 1, tzinfo=UTC),
                     signer=Signer(key or central.key), records=records,
                     fields={"entitlements": SNAPSHOT} if fields is None else fields)
        return path

    return write


def dump(db: Database) -> tuple[list[tuple[object, ...]], list[tuple[str, str]]]:
    """Everything an import may change: license lines and the satellite's state."""
    with db.reader() as uow:
        lines = [(ln.id, ln.va_id, ln.tag, ln.display_name, ln.license_type, ln.quantity,
                  ln.start_date, ln.end_date, ln.subscription_id, ln.export_controlled,
                  ln.origin_id)
                 for ln in uow.session.scalars(select(LicenseLine).order_by(LicenseLine.id))]
        state = [(e.key, e.value)
                 for e in uow.session.scalars(select(StateEntry).order_by(StateEntry.key))]
    return lines, state

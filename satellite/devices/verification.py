"""Authenticating signed device messages: known device, good signature, fresh time, new nonce."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Table, bindparam, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from satellite.accounts.models import VirtualAccount
from satellite.crypto import signing
from satellite.crypto.keys import PublicKey
from satellite.db import UTCDateTime
from satellite.devices.authority import device_public_key
from satellite.devices.messages import SignedMessage
from satellite.devices.models import DEREGISTERED, Device, DeviceNonce
from satellite.errors import Conflict, Unauthenticated, VerificationFailed


class ReplayedMessage(Conflict):
    """A signed message whose nonce was already used."""


@dataclass(frozen=True)
class DeviceSession:
    """What a check-in needs to know about the device that signed it, read in one query."""

    id: int
    va_id: int
    account_id: int
    status: str
    export_controlled: bool
    certificate_expires_at: datetime
    authorization_expires_at: datetime | None


def check_signature(public: PublicKey, message: SignedMessage) -> None:
    try:
        signing.verify(public, message.raw, message.signature, what="the message")
    except VerificationFailed as exc:
        raise Unauthenticated(exc.message) from None


def check_fresh(message: SignedMessage, now: datetime, max_age_seconds: int) -> None:
    skew = abs((now - message.timestamp).total_seconds())
    if skew > max_age_seconds:
        raise Unauthenticated(
            f"the message timestamp {message.timestamp.isoformat()} is {int(skew)} seconds away "
            f"from the satellite's clock (at most {max_age_seconds} accepted): check the device clock"
        )


# Check-ins run these statements thousands of times a second: they are built once per process
# (building a statement costs more than running it on SQLite) and take their values as binds.


@cache
def _nonce_insert(dialect: str) -> Any:
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = DeviceNonce.__table__
    assert isinstance(table, Table)
    return (insert(table)
            .values(device_id=bindparam("device_id"), nonce=bindparam("nonce"),
                    expires_at=bindparam("expires_at", type_=UTCDateTime()))
            .on_conflict_do_nothing()
            .returning(table.c.nonce))


@cache
def _device_query() -> Any:
    return (select(Device.id, Device.va_id, VirtualAccount.account_id, Device.status,
                   Device.export_controlled, Device.certificate_expires_at,
                   Device.authorization_expires_at, Device.public_key)
            .join(VirtualAccount, VirtualAccount.id == Device.va_id)
            .where(Device.id == bindparam("device_id")))


def remember_nonce(session: Session, device_id: int, message: SignedMessage,
                   max_age_seconds: int) -> None:
    """Record the nonce; refuse a message whose nonce was seen. Every node shares the table."""
    # A message is stale once its timestamp is max_age away, so its nonce may be forgotten then.
    expires = message.timestamp + timedelta(seconds=max_age_seconds)
    inserted = session.connection().execute(
        _nonce_insert(session.get_bind().dialect.name),
        {"device_id": device_id, "nonce": message.nonce, "expires_at": expires}).scalar()
    if inserted is None:
        raise ReplayedMessage("this message was already received (its nonce was used): "
                              "send a new message with a new nonce")


def authenticate(session: Session, message: SignedMessage, now: datetime,
                 max_age_seconds: int) -> DeviceSession:
    """Check a signed message from a registered device.

    Returns the device. Raises Unauthenticated (unknown or deregistered device, bad signature,
    stale timestamp) or ReplayedMessage.
    """
    row = session.connection().execute(
        _device_query(), {"device_id": message.device_id}).one_or_none()
    if row is None:
        raise Unauthenticated(f"device {message.device_id} is not registered with this satellite")
    if row.status == DEREGISTERED:
        raise Unauthenticated(f"device {message.device_id} is deregistered: register it again")
    check_signature(device_public_key(row.public_key), message)
    check_fresh(message, now, max_age_seconds)
    if row.certificate_expires_at <= now:
        raise Unauthenticated(f"device {row.id}'s ID certificate expired on "
                              f"{row.certificate_expires_at:%Y-%m-%d}: register it again")
    remember_nonce(session, row.id, message, max_age_seconds)
    return DeviceSession(row.id, row.va_id, row.account_id, row.status, row.export_controlled,
                         row.certificate_expires_at, row.authorization_expires_at)


def purge_nonces(session: Session, now: datetime) -> int:
    """Forget nonces of messages that would be refused as stale anyway. Returns how many."""
    result = session.execute(delete(DeviceNonce).where(DeviceNonce.expires_at < now))
    assert isinstance(result, CursorResult)
    return result.rowcount

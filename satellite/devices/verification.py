"""Authenticating signed device messages: known device, good signature, fresh time, new nonce."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache, lru_cache
from typing import Any

from sqlalchemy import Integer, Select, String, Table, delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Session

from satellite import precompiled
from satellite.accounts.models import Account, VirtualAccount
from satellite.clock import as_utc
from satellite.crypto import signing
from satellite.crypto.keys import PublicKey
from satellite.db import UTCDateTime, bind_list, list_params
from satellite.devices.authority import device_public_key
from satellite.devices.messages import SignedMessage
from satellite.devices.models import DEREGISTERED, Device, DeviceNonce
from satellite.errors import Conflict, Unauthenticated, VerificationFailed
from satellite.state import StateEntry, get_state, set_state


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
    # The account's export-control category (accounts.export_control).
    export_category: str = "A"


@dataclass(frozen=True)
class Verified:
    """A message whose signature was checked, before its batch, with this device key (raw).

    The batch verifies it again only if the device's key is no longer this one."""

    message: SignedMessage
    key: bytes


def unwrap(report: SignedMessage | Verified) -> tuple[SignedMessage, bytes | None]:
    """A report's message, and the key it was verified with before its batch (None if not)."""
    return (report.message, report.key) if isinstance(report, Verified) else (report, None)


class KnownKeys:
    """Keys of devices seen in this process's check-ins, by device id, at most `size`.

    A report from a known device is verified in its caller's thread, in parallel with the
    batch being written (signatures are checked without the interpreter lock), instead of
    in the batch. The key is a hint, never trusted alone: the batch compares it with the
    device's key as read in its transaction (check_device). Only one thread adds keys
    (a batch's writer); any may read them.
    """

    def __init__(self, size: int = 65536) -> None:
        self._size = size
        self._keys: dict[int, bytes] = {}

    def verify(self, message: SignedMessage) -> SignedMessage | Verified:
        """The message, Verified where its device is known and the signature is good."""
        key = self._keys.get(message.device_id or 0)
        if key is None:
            return message
        try:
            check_signature(device_public_key(key), message)
        except Unauthenticated:
            return message  # the key may have changed: the batch decides
        return Verified(message, key)

    def learn(self, device_id: int, key: bytes) -> None:
        if device_id not in self._keys and len(self._keys) >= self._size:
            del self._keys[next(iter(self._keys))]  # the oldest learned
        self._keys[device_id] = key


def check_signature(public: PublicKey, message: SignedMessage) -> None:
    try:
        signing.verify(public, message.raw, message.signature, what="the message")
    except VerificationFailed as exc:
        raise Unauthenticated(exc.message) from None


class ClockSkew(Unauthenticated):
    """A signed message whose timestamp is too far from the satellite's clock."""

    def __init__(self, message: str, device_id: int | None, skew_seconds: float) -> None:
        super().__init__(message)
        self.device_id = device_id
        self.skew_seconds = skew_seconds


FORGOTTEN_KEY = "devices.nonces_forgotten_before"


def check_fresh(message: SignedMessage, now: datetime, max_age_seconds: int,
                forgotten_before: datetime | None = None) -> None:
    """Refuse a message whose timestamp is too far from `now`, or so old that its nonce may
    have been forgotten (see purge_nonces), whatever the clock says now."""
    skew = (message.timestamp - now).total_seconds()
    if abs(skew) > max_age_seconds:
        raise ClockSkew(
            f"the message timestamp {message.timestamp.isoformat()} is {int(abs(skew))} seconds "
            f"{'ahead of' if skew > 0 else 'behind'} the satellite's clock ({now.isoformat()}; "
            f"at most {max_age_seconds} accepted): check the device clock",
            message.device_id, skew)
    if forgotten_before is not None and \
            message.timestamp + timedelta(seconds=max_age_seconds) < forgotten_before:
        # Not the device's fault: our clock moved back past nonces we have forgotten.
        raise Unauthenticated(
            f"the message timestamp {message.timestamp.isoformat()} is older than the replay "
            f"protection this satellite still keeps (from {forgotten_before.isoformat()}): the "
            "satellite's clock has moved backwards; check the satellite's clock")


def nonces_forgotten_before(session: Session) -> datetime | None:
    """Messages that expired before this time may have had their nonces forgotten."""
    return _forgotten(get_state(session, FORGOTTEN_KEY))


@lru_cache(maxsize=8)
def _forgotten(value: str | None) -> datetime | None:
    return as_utc(datetime.fromisoformat(value)) if value else None


# Check-ins run these statements thousands of times a second: they are built once per process
# (building a statement costs more than running it on SQLite) and take their values as binds.


@cache
def _nonce_insert(dialect: str, count: int) -> Any:
    # One multi-row INSERT per batch size, run on the driver (satellite.precompiled): the
    # nonces that were new come back, those seen before are left alone.
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    table = DeviceNonce.__table__
    assert isinstance(table, Table)
    rows = zip(bind_list("device_id", count, Integer()), bind_list("nonce", count, String()),
               bind_list("expires_at", count, UTCDateTime()), strict=True)
    return insert(table).values([
        {"device_id": device_id, "nonce": nonce, "expires_at": expires_at}
        for device_id, nonce, expires_at in rows
    ]).on_conflict_do_nothing().returning(table.c.device_id, table.c.nonce)


def devices_query(count: int) -> Select[Any]:
    """The rows `check_device` needs for `count` devices (binds device_id_0 ...), each with
    the time before which nonces may have been forgotten (`forgotten_before`, the same on
    every row): one statement. Callers may add columns and joins; build it once per count."""
    forgotten = (select(StateEntry.value).where(StateEntry.key == FORGOTTEN_KEY)
                 .scalar_subquery().label("forgotten_before"))
    return (select(Device.id, Device.va_id, VirtualAccount.account_id, Device.status,
                   Device.export_controlled, Device.certificate_expires_at,
                   Device.authorization_expires_at, Device.public_key,
                   Account.export_category, forgotten)
            .join(VirtualAccount, VirtualAccount.id == Device.va_id)
            .join(Account, Account.id == VirtualAccount.account_id)
            .where(Device.id.in_(bind_list("device_id", count))))


_devices_query = cache(devices_query)


def remember_nonces(session: Session, messages: Sequence[tuple[int, SignedMessage]],
                    max_age_seconds: int) -> set[tuple[int, str]]:
    """Record the nonces of (device id, message) pairs in one statement.

    Returns the pairs (device id, nonce) that were new; the others were seen before, on this
    node or another: every node shares the table. The pairs must be distinct.
    """
    if not messages:
        return set()
    # A message is stale once its timestamp is max_age away, so its nonce may be forgotten then.
    age = timedelta(seconds=max_age_seconds)
    values = {**list_params("device_id", [device_id for device_id, _ in messages]),
              **list_params("nonce", [message.nonce for _, message in messages]),
              **list_params("expires_at", [message.timestamp + age for _, message in messages])}
    connection = session.connection()
    found = precompiled.run(connection, _nonce_insert(connection.dialect.name, len(messages)),
                            values)
    return {(device_id, nonce) for device_id, nonce in found}


def replayed() -> ReplayedMessage:
    return ReplayedMessage("this message was already received (its nonce was used): "
                           "send a new message with a new nonce")


def remember_nonce(session: Session, device_id: int, message: SignedMessage,
                   max_age_seconds: int) -> None:
    """Record the nonce; refuse a message whose nonce was seen. Every node shares the table."""
    if not remember_nonces(session, [(device_id, message)], max_age_seconds):
        raise replayed()


def load_devices(session: Session, device_ids: Collection[int]) -> dict[int, Any]:
    """The rows `check_device` needs, by device id, in one query (unknown ids are absent)."""
    if not device_ids:
        return {}
    ids = sorted(device_ids)
    rows = session.connection().execute(_devices_query(len(ids)), list_params("device_id", ids))
    return {row.id: row for row in rows}


def check_device(row: Any, message: SignedMessage, now: datetime, max_age_seconds: int,
                 verified_with: bytes | None = None) -> DeviceSession:
    """Check a signed message against its device's row (from devices_query; None if unknown).

    Returns the device. Raises Unauthenticated (unknown or deregistered device, bad signature,
    stale timestamp, expired ID certificate). The nonce is checked by remember_nonces. A
    signature already verified with the key the row holds (`verified_with`) is not checked
    again.
    """
    if row is None:
        raise Unauthenticated(f"device {message.device_id} is not registered with this satellite")
    if row.status == DEREGISTERED:
        raise Unauthenticated(f"device {message.device_id} is deregistered: register it again")
    if verified_with is None or verified_with != row.public_key:
        check_signature(device_public_key(row.public_key), message)
    check_fresh(message, now, max_age_seconds, _forgotten(row.forgotten_before))
    if row.certificate_expires_at <= now:
        raise Unauthenticated(f"device {row.id}'s ID certificate expired on "
                              f"{row.certificate_expires_at:%Y-%m-%d}: register it again")
    return DeviceSession(row.id, row.va_id, row.account_id, row.status, row.export_controlled,
                         row.certificate_expires_at, row.authorization_expires_at,
                         row.export_category)


def authenticate(session: Session, message: SignedMessage, now: datetime,
                 max_age_seconds: int) -> DeviceSession:
    """Check a signed message from a registered device and record its nonce.

    Returns the device. Raises Unauthenticated (unknown or deregistered device, bad signature,
    stale timestamp) or ReplayedMessage.
    """
    assert message.device_id is not None
    rows = load_devices(session, [message.device_id])
    device = check_device(rows.get(message.device_id), message, now, max_age_seconds)
    remember_nonce(session, device.id, message, max_age_seconds)
    return device


def purge_nonces(session: Session, now: datetime) -> int:
    """Forget nonces of messages that would be refused as stale anyway. Returns how many.

    The cutoff is remembered (it only moves forward), and check_fresh refuses any message
    that expired before it: a clock that jumped forward, then back, cannot make a forgotten
    nonce's message acceptable again.
    """
    forgotten = nonces_forgotten_before(session)
    if forgotten is None or now > forgotten:
        set_state(session, FORGOTTEN_KEY, now.isoformat())
    result = session.execute(delete(DeviceNonce).where(DeviceNonce.expires_at < now))
    assert isinstance(result, CursorResult)
    return result.rowcount

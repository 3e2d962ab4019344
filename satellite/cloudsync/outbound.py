"""The outbound log's public face: producers append, the exporter reads, responses acknowledge.

`append` is the one call other domains make (transfers, devices, reservations, usage), inside
their own transaction, so a fact is logged exactly when the change that caused it commits.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, insert, select, update
from sqlalchemy.orm import Session

from satellite.cloudsync.models import OutboundEvent, OutboundHead
from satellite.errors import InvalidInput
from satellite.state import get_state, set_state

USAGE = "usage"
DEVICE_REGISTERED = "device.registered"
DEVICE_DEREGISTERED = "device.deregistered"
RESERVATION_AUTHORIZED = "reservation.authorized"
RESERVATION_RETURNED = "reservation.returned"
RESERVATION_REMOVED = "reservation.removed"
TRANSFER = "transfer"
# A line of the partner holding account deposited into an account (satellite.cloudsync.holding).
DEPOSIT = "deposit"
# A Cisco device's RUM report, its text exactly as the device wrote it (satellite.slup).
RUM_REPORT = "rum_report"
# A classic (PAK) license moved to another VA of its account (satellite.licenses.classic).
CLASSIC_TRANSFER = "classic.transfer"
# Only licensing facts leave the site; anything else is refused at the door.
KINDS = (USAGE, DEVICE_REGISTERED, DEVICE_DEREGISTERED, RESERVATION_AUTHORIZED,
         RESERVATION_RETURNED, RESERVATION_REMOVED, TRANSFER, RUM_REPORT, DEPOSIT,
         CLASSIC_TRANSFER)
ACKED_KEY = "sync.acked_through"
_READ_CHUNK = 5000


def append(session: Session, kind: str, payload: Mapping[str, Any], at: datetime) -> int:
    """Log one fact in the caller's transaction. Returns its sequence number.

    The counter row stays locked until the caller commits, so on PostgreSQL concurrent writers
    queue and sequences are dense and in commit order. Raises InvalidInput for an unknown kind
    or a payload that is not plain JSON data.
    """
    return append_many(session, kind, [payload], at)


def append_many(session: Session, kind: str, payloads: Sequence[Mapping[str, Any]],
                at: datetime) -> int:
    """Log several facts of one kind with one counter update and one insert. Returns the
    sequence number of the last (the counter's value when `payloads` is empty)."""
    if kind not in KINDS:
        raise InvalidInput(f"{kind!r} is not a kind of fact sent to Central "
                           f"(one of {', '.join(KINDS)})")
    try:
        texts = [json.dumps(dict(payload), sort_keys=True, separators=(",", ":"),
                            ensure_ascii=False, allow_nan=False) for payload in payloads]
    except (TypeError, ValueError) as exc:
        raise InvalidInput(f"a {kind} fact must be plain JSON data: {exc}") from None
    last = session.execute(
        update(OutboundHead).where(OutboundHead.id == 1)
        .values(last_seq=OutboundHead.last_seq + len(texts)).returning(OutboundHead.last_seq)
    ).scalar_one()
    first = int(last) - len(texts) + 1
    if len(texts) == 1:
        session.add(OutboundEvent(seq=first, kind=kind, at=at, payload=texts[0]))
    elif texts:
        table = OutboundEvent.__table__
        assert isinstance(table, Table)
        session.connection().execute(insert(table), [
            {"seq": first + n, "kind": kind, "at": at, "payload": text}
            for n, text in enumerate(texts)])
    return int(last)


@dataclass(frozen=True)
class Event:
    seq: int
    kind: str
    at: datetime
    data: dict[str, Any]


def last_sequence(session: Session) -> int:
    return int(session.scalar(select(OutboundHead.last_seq).where(OutboundHead.id == 1)) or 0)


def acked_through(session: Session) -> int:
    return int(get_state(session, ACKED_KEY) or 0)


def pending_count(session: Session) -> int:
    return max(last_sequence(session) - acked_through(session), 0)


def events(session: Session, after: int, through: int) -> Iterator[Event]:
    """Events with after < seq <= through, in order, read in chunks (memory stays flat)."""
    for seq, kind, at, payload in event_rows(session, after, through):
        yield Event(seq, kind, at, json.loads(payload))


def event_rows(session: Session, after: int,
               through: int) -> Iterator[tuple[int, str, datetime, str]]:
    """(seq, kind, at, payload text) of the events with after < seq <= through, in order,
    read in chunks; the payload is canonical JSON (see append_many)."""
    cursor = after
    while cursor < through:
        # Plain rows, not ORM objects: nothing accumulates in the session's identity map.
        rows = session.execute(
            select(OutboundEvent.seq, OutboundEvent.kind, OutboundEvent.at, OutboundEvent.payload)
            .where(OutboundEvent.seq > cursor, OutboundEvent.seq <= through)
            .order_by(OutboundEvent.seq).limit(_READ_CHUNK)
        ).all()
        if not rows:
            return
        yield from rows
        cursor = rows[-1][0]


def acknowledge(session: Session, through: int) -> int:
    """Move the acknowledgement watermark forward (never back). Returns how many were newly acked.

    Raises InvalidInput when Central acknowledges events this satellite never logged.
    """
    last = last_sequence(session)
    if through > last:
        raise InvalidInput(f"the response acknowledges events up to {through}, but this satellite "
                           f"has logged only {last}: it does not belong to this database")
    current = acked_through(session)
    if through <= current:
        return 0
    set_state(session, ACKED_KEY, str(through))
    return through - current

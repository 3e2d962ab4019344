"""Recording and verifying the audit trail (a SHA-256 hash chain)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, func, or_, select
from sqlalchemy.orm import Session

from satellite.actor import Actor
from satellite.audit.models import AuditEvent, AuditHead
from satellite.errors import InvalidInput
from satellite.uow import UnitOfWork

GENESIS = "0" * 64
MAX_TEXT = 1024


def _digest(prev_hash: str, event_id: int, at: datetime, actor: str, action: str,
            target: str, account_id: int | None, details: str) -> str:
    body = json.dumps(
        [prev_hash, event_id, at.isoformat(), actor, action, target, account_id, details],
        separators=(",", ":"),
    )
    return hashlib.sha256(body.encode()).hexdigest()


def _bounded(value: Any, limit: int = MAX_TEXT) -> Any:
    """Text as the trail keeps it: at most `limit` characters. Services bound their input
    first; this keeps any one event small (and within its columns) whatever a caller passes."""
    if isinstance(value, str) and len(value) > limit:
        return value[:limit - 3] + "..."
    return value


def _head(session: Session) -> AuditHead:
    head = session.scalar(select(AuditHead).where(AuditHead.id == 1).with_for_update())
    if head is None:
        head = AuditHead(id=1, last_id=0, last_hash=GENESIS)
        session.add(head)
        session.flush()
    return head


def record(
    uow: UnitOfWork,
    actor: Actor,
    action: str,
    target: str = "",
    *,
    account_id: int | None = None,
    details: Mapping[str, Any] | None = None,
) -> AuditEvent:
    """Append one event to the chain, inside the caller's transaction."""
    return _append(uow, _head(uow.session), Entry(actor, action, target, account_id, details))


@dataclass(frozen=True)
class Entry:
    """One event to record (see record)."""

    actor: Actor
    action: str
    target: str = ""
    account_id: int | None = None
    details: Mapping[str, Any] | None = None


def record_many(uow: UnitOfWork, entries: Iterable[Entry]) -> list[AuditEvent]:
    """Append events to the chain in order, inside the caller's transaction: the chain's head
    is read (and locked) once for all of them."""
    items = list(entries)
    if not items:
        return []
    head = _head(uow.session)
    return [_append(uow, head, entry) for entry in items]


def _append(uow: UnitOfWork, head: AuditHead, entry: Entry) -> AuditEvent:
    at = uow.clock.now()
    target, label = _bounded(entry.target, 300), _bounded(entry.actor.label, 200)
    text = json.dumps({k: _bounded(v) for k, v in (entry.details or {}).items()},
                      sort_keys=True, default=str)
    event_id = head.last_id + 1
    digest = _digest(head.last_hash, event_id, at, label, entry.action, target,
                     entry.account_id, text)
    event = AuditEvent(id=event_id, at=at, actor=label, action=entry.action, target=target,
                       account_id=entry.account_id, details=text, prev_hash=head.last_hash,
                       hash=digest)
    uow.session.add(event)
    head.last_id = event_id
    head.last_hash = digest
    return event


@dataclass(frozen=True)
class ChainReport:
    events: int
    broken_at: int | None = None
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.broken_at is None


def verify(session: Session) -> ChainReport:
    """Walk the whole chain; name the first event that does not link or does not hash."""
    rows = session.scalars(
        select(AuditEvent).order_by(AuditEvent.id).execution_options(yield_per=2000))
    try:
        return _walk(session, rows)
    finally:
        # Stopping at a broken event leaves PostgreSQL's server-side cursor open otherwise.
        rows.close()


def _walk(session: Session, rows: Iterable[AuditEvent]) -> ChainReport:
    prev_hash = GENESIS
    expected_id = 1
    count = 0
    for event in rows:
        if event.id != expected_id:
            return ChainReport(count, expected_id, f"event {expected_id} is missing")
        if event.prev_hash != prev_hash:
            return ChainReport(count, event.id, "it does not link to the event before it")
        digest = _digest(event.prev_hash, event.id, event.at, event.actor, event.action,
                         event.target, event.account_id, event.details)
        if digest != event.hash:
            return ChainReport(count, event.id, "its content does not match its hash")
        prev_hash = event.hash
        expected_id += 1
        count += 1
    head = session.get(AuditHead, 1)
    if head is not None and (head.last_id != count or head.last_hash != prev_hash):
        return ChainReport(count, count + 1, "events after it were removed")
    return ChainReport(count)


@dataclass(frozen=True)
class EventSearch:
    """What to look for in the trail; every part optional, all of them must hold.

    `user` names who acted (`admin`, or with its kind, `user:admin`, `apiclient:ab12`),
    `action` is the start of an action (`license.` finds every license action), `text` is
    found anywhere in the target, any case; `since` and `until` are days, both included.
    """

    account_id: int | None = None
    user: str | None = None
    action: str | None = None
    text: str | None = None
    since: date | None = None
    until: date | None = None

    def conditions(self) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        if self.account_id is not None:
            found.append(AuditEvent.account_id == self.account_id)
        if self.user:
            who = self.user if ":" in self.user else None
            found.append(or_(AuditEvent.actor == who, AuditEvent.actor.startswith(
                f"{who} via ", autoescape=True)) if who else or_(
                AuditEvent.actor.endswith(":" + self.user, autoescape=True),
                AuditEvent.actor.contains(f":{self.user} via ", autoescape=True)))
        if self.action:
            found.append(AuditEvent.action.startswith(self.action, autoescape=True))
        if self.text:
            found.append(func.lower(AuditEvent.target).contains(self.text.lower(),
                                                                autoescape=True))
        if self.since is not None:
            found.append(AuditEvent.at >= datetime.combine(self.since, time.min, UTC))
        if self.until is not None:
            found.append(AuditEvent.at < datetime.combine(self.until + timedelta(days=1),
                                                          time.min, UTC))
        return found


def _day(value: str | None, name: str) -> date | None:
    if not value or not value.strip():
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(f"{name} must be a date such as 2026-03-01", field=name) from None


# search_of's parameters by the query-string names the UI, the API and the CLI use.
SEARCH_ARGS = {"user": "user", "action": "action", "text": "q", "since": "since",
               "until": "until"}


def search_of(*, account_id: int | None = None, user: str | None = None,
              action: str | None = None, text: str | None = None, since: str | None = None,
              until: str | None = None) -> EventSearch:
    """An EventSearch from what a form, a query string or a command line gave. Raises
    InvalidInput for a day that is not one, or a range that ends before it starts."""
    first, last = _day(since, "since"), _day(until, "until")
    if first is not None and last is not None and last < first:
        raise InvalidInput("until is before since", field="until")
    return EventSearch(account_id, (user or "").strip() or None, (action or "").strip() or None,
                       (text or "").strip() or None, first, last)


def list_events(session: Session, search: EventSearch | None = None, *, action: str | None = None,
                limit: int | None = 100, before_id: int | None = None) -> list[AuditEvent]:
    """Newest first, paginated by id; `action` is a shorthand for a search by action alone."""
    if action is not None:
        search = replace(search or EventSearch(), action=action)
    return list(session.scalars(_events_query(search, limit, before_id)))


def _events_query(search: EventSearch | None, limit: int | None,
                  before_id: int | None) -> Select[AuditEvent]:
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    query = query.where(*(search or EventSearch()).conditions())
    if before_id is not None:
        query = query.where(AuditEvent.id < before_id)
    return query


def _may_read(session: Session, actor: Actor, account_id: int | None) -> None:
    from satellite.permissions.policy import require

    require(session, actor, "audit.list" if account_id is not None else "audit.list_all",
            account_id=account_id)


def read_events(session: Session, actor: Actor, search: EventSearch | None = None, *,
                limit: int = 100, before_id: int | None = None) -> list[AuditEvent]:
    """Events the actor may read: one account's (its admins), or all (system administrators)."""
    _may_read(session, actor, (search or EventSearch()).account_id)
    return list_events(session, search, limit=limit, before_id=before_id)


def each_event(session: Session, actor: Actor, search: EventSearch,
               page: int = 1000) -> Iterator[AuditEvent]:
    """Every matching event the actor may read, newest first, read a page at a time by id."""
    _may_read(session, actor, search.account_id)
    before: int | None = None
    while True:
        found = list_events(session, search, limit=page, before_id=before)
        yield from found
        if len(found) < page:
            return
        before = found[-1].id
        session.expunge_all()


def verify_chain(session: Session, actor: Actor) -> ChainReport:
    """Verify the whole trail, for those who may read all of it (system administrators)."""
    from satellite.permissions.policy import require

    require(session, actor, "audit.list_all")
    return verify(session)


def count_events(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(AuditEvent)) or 0


def iter_details(event: AuditEvent) -> Iterator[tuple[str, Any]]:
    yield from json.loads(event.details).items()

"""Recording and verifying the audit trail (a SHA-256 hash chain)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from satellite.actor import Actor
from satellite.audit.models import AuditEvent, AuditHead
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
    session = uow.session
    head = _head(session)
    at = uow.clock.now()
    target, label = _bounded(target, 300), _bounded(actor.label, 200)
    text = json.dumps({k: _bounded(v) for k, v in (details or {}).items()}, sort_keys=True,
                      default=str)
    event_id = head.last_id + 1
    digest = _digest(head.last_hash, event_id, at, label, action, target, account_id, text)
    event = AuditEvent(id=event_id, at=at, actor=label, action=action, target=target,
                       account_id=account_id, details=text, prev_hash=head.last_hash, hash=digest)
    session.add(event)
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


def list_events(
    session: Session,
    *,
    account_id: int | None = None,
    action: str | None = None,
    limit: int = 100,
    before_id: int | None = None,
) -> list[AuditEvent]:
    """Newest first, paginated by id."""
    query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit)
    if account_id is not None:
        query = query.where(AuditEvent.account_id == account_id)
    if action:
        query = query.where(AuditEvent.action.startswith(action))
    if before_id is not None:
        query = query.where(AuditEvent.id < before_id)
    return list(session.scalars(query))


def read_events(session: Session, actor: Actor, *, account_id: int | None = None,
                action: str | None = None, limit: int = 100,
                before_id: int | None = None) -> list[AuditEvent]:
    """Events the actor may read: one account's (its admins), or all (system administrators)."""
    from satellite.access.policy import require

    require(session, actor, "audit.list" if account_id is not None else "audit.list_all",
            account_id=account_id)
    return list_events(session, account_id=account_id, action=action, limit=limit,
                       before_id=before_id)


def verify_chain(session: Session, actor: Actor) -> ChainReport:
    """Verify the whole trail, for those who may read all of it (system administrators)."""
    from satellite.access.policy import require

    require(session, actor, "audit.list_all")
    return verify(session)


def count_events(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(AuditEvent)) or 0


def iter_details(event: AuditEvent) -> Iterator[tuple[str, Any]]:
    yield from json.loads(event.details).items()

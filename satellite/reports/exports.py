"""The lists people export, each as rows read a page at a time.

An export checks who may read it before the first row (so a refusal is an error, not a
truncated file), then reads page after page inside one read-only transaction, forgetting each
page once written: memory stays the same for a thousand rows or a million.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy.orm import Session

from satellite.accounts.models import VirtualAccount
from satellite.accounts.service import account_for
from satellite.actor import Actor
from satellite.alerts.service import list_alerts
from satellite.audit.service import each_event, search_of
from satellite.devices import service as devices
from satellite.devices.registration import udi_label
from satellite.errors import InvalidInput
from satellite.licenses.service import list_licenses
from satellite.licenses.usage_history import usage_history
from satellite.reservation import service as reservations
from satellite.uow import Database

Row = dict[str, Any]
PAGE = 1000
# How far back consumption history goes when no start is given.
HISTORY_DAYS = 90


@dataclass(frozen=True)
class Filters:
    """What a list page, a command or an API call narrows an export to (unused ones ignored)."""

    account: str | None = None
    va: str | None = None
    tag: str | None = None
    # Operators' tags (satellite.labels): the items carrying every one.
    tags: tuple[str, ...] = ()
    status: str | None = None
    text: str | None = None
    user: str | None = None
    action: str | None = None
    since: str | None = None
    until: str | None = None
    cleared: bool = False


@dataclass(frozen=True)
class Export:
    name: str
    columns: tuple[str, ...]
    rows: Iterator[Row]


_END = object()


def _eager(rows: Iterator[Row]) -> Iterator[Row]:
    """Run the reading up to its first row now: an unknown account or a missing right is
    raised before a response or a file is started."""
    first = next(rows, _END)
    if first is _END:
        return iter(())
    return itertools.chain([first], rows)  # type: ignore[list-item]


LICENSE_COLUMNS = ("account", "virtual_account", "license", "quantity", "in_use", "reserved",
                   "available", "status", "line_type", "line_quantity", "line_start",
                   "line_end", "subscription_id", "line_active")


def _licenses(db: Database, actor: Actor, f: Filters) -> Iterator[Row]:
    on = db.clock.now().date()
    with db.reader() as uow:
        offset = 0
        while True:
            page = list_licenses(uow.session, actor, on, f.account, va_names=[f.va] if f.va else (),
                                 tag=f.tag, status=f.status, text=f.text, limit=PAGE,
                                 offset=offset, count=False, tagged=f.tags)
            for r in page.rows:
                c = r.counter
                pool = {"account": r.account, "virtual_account": r.virtual_account,
                        "license": c.tag, "quantity": c.quantity, "in_use": c.in_use,
                        "reserved": c.reserved, "available": c.available, "status": c.status}
                # One row per line behind the pool; a pool with no line (used, never
                # bought) still gets its row.
                for d in r.details or (None,):
                    yield {**pool, **({} if d is None else {
                        "line_type": d.license_type, "line_quantity": d.quantity,
                        "line_start": d.start_date, "line_end": d.end_date,
                        "subscription_id": d.subscription_id, "line_active": d.active})}
            if len(page.rows) < PAGE:
                return
            offset += PAGE
            uow.session.expunge_all()


DEVICE_COLUMNS = ("udi", "pid", "sn", "hostname", "account", "va", "status", "last_contact_at",
                  "authorization_expires_at", "certificate_expires_at", "registered_at",
                  "consumption")


def _devices(db: Database, actor: Actor, f: Filters) -> Iterator[Row]:
    with db.reader() as uow:
        after: str | None = None
        while True:
            # Keyset pages in UDI order: each page is one index range, however deep.
            page = devices.list_devices(uow.session, actor, account=f.account, va=f.va,
                                        status=f.status, search=f.text, limit=PAGE,
                                        after=after, count_limit=0, tagged=f.tags)
            used = devices.usages_by_tag(uow.session, [r["id"] for r in page.rows])
            for r in page.rows:
                yield {**{c: r.get(c) for c in DEVICE_COLUMNS}, "consumption": used[r["id"]]}
            uow.session.expunge_all()
            if page.after is None:
                return
            after = page.after


HISTORY_COLUMNS = ("period_start", "license", "quantity", "in_use", "reserved")


def _day(value: str | None, name: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise InvalidInput(f"{name} must be a date such as 2026-03-01", field=name) from None


def _history(db: Database, actor: Actor, f: Filters) -> Iterator[Row]:
    if not f.account:
        raise InvalidInput("consumption history is per account: name one", field="account")
    now = db.clock.now()
    first = _day(f.since, "since")
    last = _day(f.until, "until")
    since = (datetime.combine(first, time.min, now.tzinfo) if first
             else now - timedelta(days=HISTORY_DAYS))
    end = datetime.combine(last + timedelta(days=1), time.min, now.tzinfo) if last else None
    with db.reader() as uow:
        # Snapshots are per period and tag (not per device): bounded by the retention.
        for tag in usage_history(uow.session, actor, f.account, since, max_tags=1_000_000):
            if f.text and f.text.lower() not in tag.tag.lower():
                continue
            for p in tag.points:
                if end is None or p.at < end:
                    yield {"period_start": p.at, "license": tag.tag, "quantity": p.quantity,
                           "in_use": p.in_use, "reserved": p.reserved}


ALERT_COLUMNS = ("id", "severity", "kind", "message", "raised_at", "updated_at", "cleared_at")


def _alerts(db: Database, actor: Actor, f: Filters) -> Iterator[Row]:
    with db.reader() as uow:
        for a in list_alerts(uow.session, actor, f.account, include_cleared=f.cleared):
            yield {"id": a.id, "severity": a.severity, "kind": a.kind, "message": a.message,
                   "raised_at": a.raised_at, "updated_at": a.updated_at,
                   "cleared_at": a.cleared_at}


RESERVATION_COLUMNS = ("udi", "virtual_account", "kind", "status", "licenses", "issued_at",
                       "closed_at", "close_reason")


def _reservations(db: Database, actor: Actor, f: Filters) -> Iterator[Row]:
    with db.reader() as uow:
        s = uow.session
        account_id = (account_for(s, actor, f.account, "reservation.view").id
                      if f.account else None)
        names: dict[int, str] = {}
        offset = 0
        while True:
            page = reservations.list_reservations(s, actor, account_id, f.status or None,
                                                  limit=PAGE, offset=offset, tagged=f.tags)
            for r in page:
                if r.va_id not in names:
                    names[r.va_id] = _va_name(s, r.va_id)
                yield {"udi": udi_label(r.pid, r.serial_number), "virtual_account": names[r.va_id],
                       "kind": r.kind, "status": r.status,
                       "licenses": {ln.tag: ln.count for ln in reservations.lines(s, r)},
                       "issued_at": r.issued_at, "closed_at": r.closed_at,
                       "close_reason": r.close_reason}
            if len(page) < PAGE:
                return
            offset += PAGE
            s.expunge_all()


def _va_name(session: Session, va_id: int) -> str:
    va = session.get(VirtualAccount, va_id)
    return va.name if va is not None else ""


AUDIT_COLUMNS = ("id", "at", "actor", "action", "target", "account_id", "details", "hash")


def _audit(db: Database, actor: Actor, f: Filters) -> Iterator[Row]:
    with db.reader() as uow:
        account_id = (account_for(uow.session, actor, f.account, "audit.list").id
                      if f.account else None)
        search = search_of(account_id=account_id, user=f.user, action=f.action, text=f.text,
                           since=f.since, until=f.until)
        for e in each_event(uow.session, actor, search):
            yield {"id": e.id, "at": e.at, "actor": e.actor, "action": e.action,
                   "target": e.target, "account_id": e.account_id, "details": e.details,
                   "hash": e.hash}


_KINDS: dict[str, tuple[tuple[str, ...], Callable[[Database, Actor, Filters], Iterator[Row]]]] = {
    "licenses": (LICENSE_COLUMNS, _licenses),
    "product-instances": (DEVICE_COLUMNS, _devices),
    "usage-history": (HISTORY_COLUMNS, _history),
    "alerts": (ALERT_COLUMNS, _alerts),
    "reservations": (RESERVATION_COLUMNS, _reservations),
    "audit-log": (AUDIT_COLUMNS, _audit),
}
KINDS = tuple(_KINDS)


def export(db: Database, actor: Actor, kind: str, filters: Filters) -> Export:
    """The rows of one list as the actor may see them. Raises InvalidInput (unknown kind or
    filter), NotFound, PermissionDenied, before any row is produced."""
    if kind not in _KINDS:
        raise InvalidInput(f"{kind!r} is not a report: one of {', '.join(KINDS)}", field="kind")
    columns, reader = _KINDS[kind]
    return Export(kind, columns, _eager(reader(db, actor, filters)))

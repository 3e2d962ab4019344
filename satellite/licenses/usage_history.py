"""Consumption history: an hourly snapshot of every counter, and what an actor may read of it.

Snapshots are taken by a scheduled job (or `satellite maintenance snapshot-usage`), never by
device check-ins, so the history costs nothing on the device path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from satellite.accounts.models import VirtualAccount
from satellite.accounts.service import account_for
from satellite.actor import Actor
from satellite.config import Settings
from satellite.errors import InvalidInput
from satellite.licenses.counters import every_counter
from satellite.licenses.models import AccountUsageSnapshot, UsageSnapshot
from satellite.permissions.policy import visible_va_ids
from satellite.uow import Database, UnitOfWork

# Hourly detail is kept this long; older snapshots are pruned to one a day.
HOURLY_DAYS = 8
_CHUNK = 5000


@dataclass(frozen=True)
class SnapshotReport:
    period_start: datetime
    rows: int
    daily: bool
    pruned: int


def snapshot_usage(uow: UnitOfWork, at: datetime, retention_days: int) -> SnapshotReport:
    """Record every counter for the hour holding `at` (again: the hour's rows are replaced),
    then prune what is older than the retention."""
    if retention_days < 1:
        raise InvalidInput("the usage history retention must be at least 1 day")
    session = uow.session
    period = at.replace(minute=0, second=0, microsecond=0)
    day = period.replace(hour=0)
    daily = session.scalar(select(UsageSnapshot.period_start).where(
        UsageSnapshot.daily.is_(True), UsageSnapshot.period_start >= day,
        UsageSnapshot.period_start < day + timedelta(days=1),
        UsageSnapshot.period_start != period).limit(1)) is None
    for model in (UsageSnapshot, AccountUsageSnapshot):
        session.execute(delete(model).where(model.period_start == period))
    account_of = {va_id: account_id for va_id, account_id in session.execute(
        select(VirtualAccount.id, VirtualAccount.account_id))}
    sums: dict[tuple[int, str], list[int]] = {}
    rows, batch = 0, []
    for c in every_counter(session, at.date()):
        if not (c.quantity or c.in_use or c.reserved):
            continue
        batch.append({"period_start": period, "va_id": c.va_id, "tag": c.tag,
                      "quantity": c.quantity, "in_use": c.in_use, "reserved": c.reserved,
                      "daily": daily})
        total = sums.setdefault((account_of[c.va_id], c.tag), [0, 0, 0])
        total[0] += c.quantity
        total[1] += c.in_use
        total[2] += c.reserved
        if len(batch) >= _CHUNK:
            rows += _insert(session, UsageSnapshot, batch)
    rows += _insert(session, UsageSnapshot, batch)
    _insert(session, AccountUsageSnapshot, [
        {"period_start": period, "account_id": account_id, "tag": tag, "quantity": q,
         "in_use": u, "reserved": r, "daily": daily}
        for (account_id, tag), (q, u, r) in sums.items()])
    pruned = 0
    for model in (UsageSnapshot, AccountUsageSnapshot):
        pruned += sum(_deleted(session.execute(delete(model).where(*old))) for old in (
            [model.period_start < period - timedelta(days=retention_days)],
            [model.daily.is_(False),
             model.period_start < period - timedelta(days=HOURLY_DAYS)]))
    return SnapshotReport(period, rows, daily, pruned)


def _deleted(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def _insert(session: Session, model: type[UsageSnapshot | AccountUsageSnapshot],
            batch: list[dict[str, object]]) -> int:
    if batch:
        session.execute(insert(model), batch)
    count = len(batch)
    batch.clear()
    return count


def usage_history_job(db: Database, settings: Settings) -> None:
    with db.uow() as uow:
        snapshot_usage(uow, uow.clock.now(), settings.usage_history_days)
        uow.commit()


@dataclass(frozen=True)
class Point:
    at: datetime
    quantity: int
    in_use: int
    reserved: int

    @property
    def used(self) -> int:
        return self.in_use + self.reserved


@dataclass(frozen=True)
class TagHistory:
    tag: str
    points: tuple[Point, ...]


def usage_history(session: Session, actor: Actor, account_ref: str, since: datetime, *,
                  daily: bool = False, tags: Sequence[str] | None = None,
                  max_tags: int = 8) -> list[TagHistory]:
    """Per tag, the account's counters over time summed over the VAs the actor may see.

    Without `tags`, the `max_tags` tags most used at the newest snapshot. `daily` reads one
    snapshot a day. Whole-account readers get the account's sums, one row per tag and period.
    """
    account = account_for(session, actor, account_ref, "license.view")
    visible = visible_va_ids(session, actor, "license.view", account.id)
    model: type[UsageSnapshot | AccountUsageSnapshot]
    if visible is None:
        model = AccountUsageSnapshot
        scope = AccountUsageSnapshot.account_id == account.id
    else:
        model = UsageSnapshot
        scope = UsageSnapshot.va_id.in_(sorted(visible))
    where = [scope, model.period_start >= since]
    if daily:
        where.append(model.daily.is_(True))
    if tags is None:
        # Ranked at the newest snapshot (every VA is recorded in each), so the choice reads
        # one period, not the whole range.
        newest = session.scalar(select(func.max(model.period_start))
                                .where(model.period_start >= since))
        used = func.sum(model.in_use + model.reserved)
        tags = [] if newest is None else list(session.scalars(
            select(model.tag).where(scope, model.period_start == newest)
            .group_by(model.tag)
            .order_by(used.desc(), func.sum(model.quantity).desc(), model.tag)
            .limit(max_tags)))
    if not tags:
        return []
    rows = session.execute(
        select(model.tag, model.period_start, func.sum(model.quantity),
               func.sum(model.in_use), func.sum(model.reserved))
        .where(*where, model.tag.in_(list(tags)))
        .group_by(model.tag, model.period_start)
        .order_by(model.tag, model.period_start))
    found: dict[str, list[Point]] = {tag: [] for tag in tags}
    for tag, at, quantity, in_use, reserved in rows:
        found[tag].append(Point(at, int(quantity), int(in_use), int(reserved)))
    return [TagHistory(tag, tuple(points)) for tag, points in found.items()]

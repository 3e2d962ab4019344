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

from satellite.access.policy import visible_va_ids
from satellite.accounts.models import VirtualAccount
from satellite.accounts.service import account_for
from satellite.actor import Actor
from satellite.config import Settings
from satellite.errors import InvalidInput
from satellite.licenses.counters import every_counter
from satellite.licenses.models import UsageSnapshot
from satellite.scheduler import Job
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
    session.execute(delete(UsageSnapshot).where(UsageSnapshot.period_start == period))
    rows, batch = 0, []
    for c in every_counter(session, at.date()):
        if c.quantity or c.in_use or c.reserved:
            batch.append({"period_start": period, "va_id": c.va_id, "tag": c.tag,
                          "quantity": c.quantity, "in_use": c.in_use, "reserved": c.reserved,
                          "daily": daily})
        if len(batch) >= _CHUNK:
            rows += _insert(session, batch)
    rows += _insert(session, batch)
    pruned = sum(_deleted(session.execute(delete(UsageSnapshot).where(*old))) for old in (
        [UsageSnapshot.period_start < period - timedelta(days=retention_days)],
        [UsageSnapshot.daily.is_(False),
         UsageSnapshot.period_start < period - timedelta(days=HOURLY_DAYS)]))
    return SnapshotReport(period, rows, daily, pruned)


def _deleted(result: object) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def _insert(session: Session, batch: list[dict[str, object]]) -> int:
    if batch:
        session.execute(insert(UsageSnapshot), batch)
    count = len(batch)
    batch.clear()
    return count


def usage_history_job(db: Database, settings: Settings) -> None:
    with db.uow() as uow:
        snapshot_usage(uow, uow.clock.now(), settings.usage_history_days)
        uow.commit()


def jobs() -> list[Job]:
    return [Job("usage-history", usage_history_job, 3600.0)]


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
    snapshot a day.
    """
    account = account_for(session, actor, account_ref, "license.view")
    vas = select(VirtualAccount.id).where(VirtualAccount.account_id == account.id)
    visible = visible_va_ids(session, actor, "license.view", account.id)
    if visible is not None:
        vas = vas.where(VirtualAccount.id.in_(visible))
    where = [UsageSnapshot.va_id.in_(vas), UsageSnapshot.period_start >= since]
    if daily:
        where.append(UsageSnapshot.daily.is_(True))
    if tags is None:
        # Ranked at the newest snapshot (every VA is recorded in each), so the choice reads
        # one period, not the whole range.
        newest = session.scalar(select(func.max(UsageSnapshot.period_start))
                                .where(UsageSnapshot.period_start >= since))
        used = func.sum(UsageSnapshot.in_use + UsageSnapshot.reserved)
        tags = [] if newest is None else list(session.scalars(
            select(UsageSnapshot.tag)
            .where(UsageSnapshot.va_id.in_(vas), UsageSnapshot.period_start == newest)
            .group_by(UsageSnapshot.tag)
            .order_by(used.desc(), func.sum(UsageSnapshot.quantity).desc(), UsageSnapshot.tag)
            .limit(max_tags)))
    if not tags:
        return []
    rows = session.execute(
        select(UsageSnapshot.tag, UsageSnapshot.period_start, func.sum(UsageSnapshot.quantity),
               func.sum(UsageSnapshot.in_use), func.sum(UsageSnapshot.reserved))
        .where(*where, UsageSnapshot.tag.in_(list(tags)))
        .group_by(UsageSnapshot.tag, UsageSnapshot.period_start)
        .order_by(UsageSnapshot.tag, UsageSnapshot.period_start))
    found: dict[str, list[Point]] = {tag: [] for tag in tags}
    for tag, at, quantity, in_use, reserved in rows:
        found[tag].append(Point(at, int(quantity), int(in_use), int(reserved)))
    return [TagHistory(tag, tuple(points)) for tag, points in found.items()]

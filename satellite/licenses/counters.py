"""Counters and compliance: the one place that decides how many licenses a VA has and uses.

Every read is a small, fixed number of grouped queries whatever the number of VAs, tags,
lines or devices, so pages stay fast on large appliances.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Date,
    Integer,
    Select,
    and_,
    bindparam,
    case,
    func,
    or_,
    select,
)
from sqlalchemy.orm import Session

from satellite import precompiled
from satellite.accounts.models import Account, VirtualAccount
from satellite.db import bind_list, in_chunks, list_params
from satellite.errors import InvalidInput
from satellite.labels.filters import pools_with, wanted
from satellite.labels.pages import pool_labels
from satellite.licenses import compliance
from satellite.licenses.models import (
    IN_COMPLIANCE,
    OUT_OF_COMPLIANCE,
    LicenseLine,
    TagSearch,
    UsageTotal,
)
from satellite.licenses.pools import PoolKey, covers, lines_of

STATUSES = (IN_COMPLIANCE, OUT_OF_COMPLIANCE)


def active_on(on: date | BindParameter[date]) -> ColumnElement[bool]:
    """SQL condition: the line counts on `on` (PERPETUAL always; others within their dates)."""
    return or_(
        LicenseLine.license_type == "PERPETUAL",
        and_(
            or_(LicenseLine.start_date.is_(None), LicenseLine.start_date <= on),
            or_(LicenseLine.end_date.is_(None), LicenseLine.end_date >= on),
        ),
    )


@dataclass(frozen=True)
class Counter:
    va_id: int
    tag: str
    quantity: int
    in_use: int
    reserved: int

    @property
    def available(self) -> int:
        return self.quantity - self.in_use - self.reserved

    @property
    def status(self) -> str:
        return compliance.status(self.available)


@dataclass(frozen=True)
class LineDetail:
    """One pool line behind a counter, as the licenseDetails view shows it."""

    license_type: str
    quantity: int
    start_date: date | None
    end_date: date | None
    subscription_id: str
    active: bool


@dataclass(frozen=True)
class AccountCounter:
    account: str
    virtual_account: str
    counter: Counter
    details: tuple[LineDetail, ...]
    # The operator's tags on this pool (satellite.labels).
    labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class CounterPage:
    total: int
    rows: list[AccountCounter]


def quantity_on(on: date | BindParameter[date]) -> ColumnElement[int]:
    """SQL value: a pool row's quantity on `on`: the stored sum when its window covers `on`,
    else the sum of its lines active that day (only pools a date has passed since the last
    refresh; the hourly job refreshes them)."""
    from_lines = (
        select(func.coalesce(func.sum(LicenseLine.quantity), 0))
        .where(LicenseLine.va_id == UsageTotal.va_id, LicenseLine.tag == UsageTotal.tag,
               active_on(on))
        .scalar_subquery()
    )
    return case((covers(on), UsageTotal.quantity), else_=from_lines)


def _shown() -> ColumnElement[bool]:
    """A pool has a counter while it has lines (active or not) or anything uses it."""
    return or_(UsageTotal.lines != 0, UsageTotal.in_use != 0, UsageTotal.reserved != 0)


def _pool_filter(va_ids: Select[int] | list[int] | BindParameter[list[int]],
                 tags: Sequence[str] | BindParameter[list[str]] | None) -> list[Any]:
    where = [UsageTotal.va_id.in_(va_ids), _shown()]
    if tags is not None:
        where.append(UsageTotal.tag.in_(tags if isinstance(tags, BindParameter) else list(tags)))
    return where


def _counter_rows(on: date | BindParameter[date],
                  va_ids: Select[int] | list[int] | BindParameter[list[int]],
                  tags: Sequence[str] | BindParameter[list[str]] | None,
                  ) -> Select[int, str, int, int, int]:
    """(va_id, tag, quantity, in_use, reserved) for every tag with lines or usage in the VAs:
    one row per pool, read from the pool rows.

    Values may be bind parameters, for a statement built once and run many times.
    """
    return (
        select(UsageTotal.va_id, UsageTotal.tag, quantity_on(on).label("quantity"),
               UsageTotal.in_use, UsageTotal.reserved)
        .where(*_pool_filter(va_ids, tags))
    )


@cache
def _tag_counters_statement() -> Select[int, str, int, int, int]:
    # Every device check-in asks for its tags' counters: building this statement costs more
    # than running it, so it is built once per process and takes its values as binds.
    return _counter_rows(bindparam("on", type_=Date()), bindparam("va_ids", expanding=True),
                         bindparam("tags", expanding=True))


def va_counters(session: Session, va_id: int, on: date,
                tags: Sequence[str] | None = None) -> dict[str, Counter]:
    """Counters of one VA by tag; with `tags`, exactly those (a tag it never saw counts 0)."""
    if tags is None:
        rows = session.execute(_counter_rows(on, [va_id], None))
    elif not tags:
        return {}
    else:
        rows = session.execute(_tag_counters_statement(),
                               {"on": on, "va_ids": [va_id], "tags": list(tags)})
    found = {tag: Counter(va_id, tag, q, u, r) for _, tag, q, u, r in rows}
    if tags is None:
        return found
    return {tag: found.get(tag, Counter(va_id, tag, 0, 0, 0)) for tag in tags}


@dataclass(frozen=True)
class TagPool:
    """A tag a VA has license lines for: its counter, and whether a line is export-controlled."""

    counter: Counter
    export_controlled: bool


@cache
def _tag_pools_statement(count: int) -> Select[str, bool, int, int, int]:
    # Device check-ins ask this for their tags: built once per process, values bound.
    on, va_id = bindparam("on", type_=Date()), bindparam("va_id", type_=Integer())
    return (
        select(UsageTotal.tag, UsageTotal.export_controlled, quantity_on(on),
               UsageTotal.in_use, UsageTotal.reserved)
        .where(UsageTotal.va_id == va_id, UsageTotal.tag.in_(bind_list("tag", count)),
               UsageTotal.lines != 0)
    )


def tag_pools(session: Session, va_id: int, on: date, tags: Sequence[str]) -> dict[str, TagPool]:
    """The pools of those `tags` the VA has license lines for, in one query.

    A tag without lines in the VA is absent. Each counter is what va_counters tells.
    """
    if not tags:
        return {}
    rows = precompiled.run(session.connection(), _tag_pools_statement(len(tags)),
                           {"on": on, "va_id": va_id, **list_params("tag", tags)})
    return {tag: TagPool(Counter(va_id, tag, int(q), int(u), int(r)), bool(export))
            for tag, export, q, u, r in rows}


def pool_counters(session: Session, keys: Collection[PoolKey], on: date) -> dict[PoolKey, Counter]:
    """The counters of these pools (those with lines or use), a fixed few queries for any number."""
    wanted = set(keys)
    found: dict[PoolKey, Counter] = {}
    for chunk in in_chunks(sorted(wanted)):
        rows = session.execute(_counter_rows(on, sorted({va for va, _ in chunk}),
                                             sorted({tag for _, tag in chunk})))
        for va_id, tag, quantity, in_use, reserved in rows:
            if (va_id, tag) in wanted:
                found[(va_id, tag)] = Counter(va_id, tag, int(quantity), int(in_use),
                                              int(reserved))
    return found


def every_counter(session: Session, on: date) -> Iterator[Counter]:
    """The counters of every VA and tag of the appliance, in one query, streamed."""
    rows = session.execute(_counter_rows(on, select(VirtualAccount.id), None)
                           .execution_options(yield_per=5000))
    for va_id, tag, quantity, in_use, reserved in rows:
        yield Counter(va_id, tag, quantity, in_use, reserved)


def counter(session: Session, va_id: int, tag: str, on: date) -> Counter:
    """The counter of one tag in one VA."""
    return va_counters(session, va_id, on, [tag])[tag]


def list_counters(
    session: Session,
    on: date,
    *,
    account_id: int | None = None,
    va_names: Sequence[str] = (),
    va_ids: Collection[int] | None = None,
    tag: str | None = None,
    status: str | None = None,
    text: str | None = None,
    limit: int | None = 100,
    offset: int = 0,
    details: bool = True,
    count: bool = True,
    tagged: Sequence[str] = (),
) -> CounterPage:
    """One page of counters, ordered by account, VA and tag, with the lines behind each.

    Filters: one account, VA names or ids, a tag, a status, free text (in the tag or its
    display name, any case; or one of the pool's operator tags, whole), operator tags
    (`tagged`: pools carrying every one); `limit` None means the whole list. Returns the page
    and the total count. Without `details` the rows carry no lines; without `count` the total
    is only what the page shows (offset + rows), which spares reading every pool that matches
    (a summary that shows the first rows only).
    Raises InvalidInput for an unknown status or a bad page.
    """
    if status is not None and status not in STATUSES:
        raise InvalidInput(f"status {status!r} is not one of {', '.join(STATUSES)}")
    if (limit is not None and limit < 1) or offset < 0:
        raise InvalidInput(f"a page needs limit >= 1 and offset >= 0 (got {limit}, {offset})")
    # The pools are read through their VAs in name order (an index), so a page stops after its
    # rows instead of sorting every pool of the account; the total is counted apart.
    where: list[Any] = [_shown()]
    if account_id is not None:
        where.append(VirtualAccount.account_id == account_id)
    if va_names:
        where.append(VirtualAccount.name.in_(list(va_names)))
    if va_ids is not None:
        where.append(VirtualAccount.id.in_(list(va_ids)))
    if tag is not None:
        where.append(UsageTotal.tag == tag)
    where.extend(pools_with(session, wanted(tagged)))
    quantity = quantity_on(on)
    if status is not None:
        short = compliance.short_sql(quantity, UsageTotal.in_use, UsageTotal.reserved)
        where.append(short if status == OUT_OF_COMPLIANCE else ~short)
    if text:
        pattern = f"%{_escape_like(text.strip().lower())}%"
        # Tags whose lines (in any VA) carry the text in their display name. Stored names are
        # separated by a control character no typed text holds, so a match never spans two.
        named = select(TagSearch.tag).where(
            func.lower(TagSearch.words).like(pattern, escape="\\"))
        where.append(or_(func.lower(UsageTotal.tag).like(pattern, escape="\\"),
                         UsageTotal.tag.in_(named),
                         *pools_with(session, [text.strip().lower()])))
    page = session.execute(
        select(Account.name, VirtualAccount.name, UsageTotal.va_id, UsageTotal.tag, quantity,
               UsageTotal.in_use, UsageTotal.reserved)
        .select_from(Account)
        .join(VirtualAccount, VirtualAccount.account_id == Account.id)
        .join(UsageTotal, UsageTotal.va_id == VirtualAccount.id)
        .where(*where)
        .order_by(Account.name, VirtualAccount.name, UsageTotal.tag)
        .limit(limit)
        .offset(offset)
    ).all()
    total = (session.scalar(
        select(func.count())
        .select_from(UsageTotal)
        .join(VirtualAccount, VirtualAccount.id == UsageTotal.va_id)
        .where(*where)) or 0) if count else offset + len(page)
    keys = [(r.va_id, r.tag) for r in page]
    lines = line_details(session, keys, on) if details else {}
    labels = pool_labels(session, keys)
    return CounterPage(total, [
        AccountCounter(account, va, Counter(va_id, tag_, q, u, r),
                       tuple(lines.get((va_id, tag_), ())), tuple(labels[(va_id, tag_)]))
        for account, va, va_id, tag_, q, u, r in page
    ])


def _escape_like(value: str) -> str:
    return value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def line_details(session: Session, keys: Sequence[tuple[int, str]],
                 on: date) -> dict[tuple[int, str], list[LineDetail]]:
    """The lines behind each (va_id, tag), oldest first, in one query."""
    if not keys:
        return {}
    found: dict[tuple[int, str], list[LineDetail]] = {}
    wanted = set(keys)
    query = (
        select(LicenseLine, active_on(on).label("active"))
        .where(lines_of(wanted))
        .order_by(LicenseLine.va_id, LicenseLine.tag, LicenseLine.id)
    )
    for line, active in session.execute(query):
        if (line.va_id, line.tag) not in wanted:
            continue
        found.setdefault((line.va_id, line.tag), []).append(LineDetail(
            line.license_type, line.quantity, line.start_date, line.end_date,
            line.subscription_id, bool(active)))
    return found


def line_counts(session: Session, va_ids: Collection[int]) -> dict[int, int]:
    """How many license lines each of these VAs holds, by VA id (absent: none), one query per
    IN_LIST_CHUNK VAs through the lines' (VA, tag) index: a page counts the VAs it shows."""
    counts: dict[int, int] = {}
    for chunk in in_chunks(sorted(set(va_ids))):
        counts.update((va_id, int(n)) for va_id, n in session.execute(
            select(LicenseLine.va_id, func.count()).where(LicenseLine.va_id.in_(chunk))
            .group_by(LicenseLine.va_id)))
    return counts

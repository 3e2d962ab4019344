"""Properties of counters, usage and transfers, for any mix of lines, dates and operations.

The database fixture lives for the whole test; every example gets an account of its own.
"""

from __future__ import annotations

import itertools
from collections import Counter as Tally
from datetime import date, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from satellite.accounts.models import VirtualAccount
from satellite.actor import Actor
from satellite.errors import Conflict, InvalidInput, NotFound
from satellite.licenses.counters import list_counters
from satellite.licenses.models import (
    IN_COMPLIANCE,
    LICENSE_TYPES,
    OUT_OF_COMPLIANCE,
    USAGE_KINDS,
    LicenseLine,
    LicenseUsage,
    UsageTotal,
)
from satellite.licenses.transfers import transfer
from satellite.licenses.usage import set_usage
from satellite.uow import Database
from tests.licenses.helpers import account_id, make_account

TODAY = date(2026, 3, 1)  # the fixed clock's date
TAGS = ("regid.a", "regid.b")
VAS = ("V0", "V1", "V2")
_accounts = itertools.count()


@st.composite
def lines(draw: st.DrawFn) -> tuple[int, str, str, int, date | None, date | None, str]:
    # Few distinct dates, so lines share pieces and checks fall on their boundaries.
    start = draw(st.sampled_from((None, -60, -1, 0, 1, 30)).map(
        lambda d: None if d is None else TODAY + timedelta(days=d)))
    length = draw(st.sampled_from((None, 0, 1, 30, 90)))
    end = None if length is None else (start or TODAY) + timedelta(days=length)
    return (draw(st.integers(0, 2)), draw(st.sampled_from(TAGS)),
            draw(st.sampled_from(LICENSE_TYPES)), draw(st.integers(1, 20)), start, end,
            draw(st.sampled_from(("o1", "o2", "o3"))))


usage_ops = st.tuples(
    st.just("usage"), st.integers(0, 3), st.sampled_from(USAGE_KINDS),
    st.dictionaries(st.tuples(st.integers(0, 2), st.sampled_from(TAGS)), st.integers(0, 12),
                    max_size=4))
transfer_ops = st.tuples(
    st.just("transfer"), st.integers(0, 2), st.integers(0, 2), st.sampled_from(TAGS),
    st.integers(-1, 15))

LineKey = tuple[int, str, str, str, date | None, date | None, str]


def is_active(kind: str, start: date | None, end: date | None, on: date) -> bool:
    return kind == "PERPETUAL" or ((start is None or start <= on) and (end is None or end >= on))


def snapshot(db: Database, va_ids: list[int]) -> Tally[LineKey]:
    """Quantity by (va, tag, origin, type, start, end, subscription)."""
    with db.reader() as uow:
        rows = uow.session.scalars(select(LicenseLine).where(LicenseLine.va_id.in_(va_ids)))
        tally: Tally[LineKey] = Tally()
        for r in rows:
            tally[(r.va_id, r.tag, r.origin_id, r.license_type, r.start_date, r.end_date,
                   r.subscription_id)] += r.quantity
        return tally


def usage_sums(db: Database, va_ids: list[int]) -> Tally[tuple[int, str, str]]:
    with db.reader() as uow:
        rows = uow.session.execute(select(LicenseUsage.va_id, LicenseUsage.tag, LicenseUsage.kind,
                                          LicenseUsage.quantity)
                                   .where(LicenseUsage.va_id.in_(va_ids)))
        tally: Tally[tuple[int, str, str]] = Tally()
        for va, tag, kind, n in rows:
            tally[(va, tag, kind)] += n
        return tally


def oracle(lines_: Tally[LineKey], usage: Tally[tuple[int, str, str]],
           on: date) -> dict[tuple[int, str], tuple[int, int, int]]:
    expected: dict[tuple[int, str], tuple[int, int, int]] = {}
    for (va, tag, _origin, kind, start, end, _sub), n in lines_.items():
        q, u, r = expected.get((va, tag), (0, 0, 0))
        expected[(va, tag)] = (q + (n if is_active(kind, start, end, on) else 0), u, r)
    for (va, tag, kind), n in usage.items():
        if n:
            q, u, r = expected.get((va, tag), (0, 0, 0))
            expected[(va, tag)] = (q, u + n * (kind == "in_use"), r + n * (kind == "reserved"))
    return expected


def conserved(tally: Tally[LineKey]) -> Tally[tuple[str, str, str, date | None, date | None,
                                                   str]]:
    """What a transfer must not change: the account's quantity per piece, wherever it sits."""
    out: Tally[tuple[str, str, str, date | None, date | None, str]] = Tally()
    for (_va, *piece), n in tally.items():
        out[(piece[0], piece[1], piece[2], piece[3], piece[4], piece[5])] += n
    return out


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(pool=st.lists(lines(), max_size=8),
       operations=st.lists(usage_ops | transfer_ops, max_size=8),
       days=st.lists(st.integers(-120, 200), min_size=1, max_size=3))
def test_counters_usage_and_transfers_keep_their_invariants(
        db: Database, actor: Actor, pool: list[tuple[int, str, str, int, date | None,
                                                      date | None, str]],
        operations: list[tuple[Any, ...]], days: list[int]) -> None:
    n = next(_accounts)
    name = f"P{n}"
    vas = make_account(db, actor, name, f"p{n}.example.com", vas=VAS)
    ids = [vas[v] for v in VAS]
    with db.uow() as uow:
        for va, tag, kind, quantity, start, end, origin in pool:
            uow.session.add(LicenseLine(va_id=ids[va], tag=tag, license_type=kind,
                                        quantity=quantity, start_date=start, end_date=end,
                                        subscription_id=f"sub-{origin}", origin_id=origin))
        uow.commit()

    for op in operations:
        if op[0] == "usage":
            _, owner, kind, wanted = op
            with db.uow() as uow:
                set_usage(uow.session, f"device:{name}:{owner}", kind,
                          {(ids[va], tag): c for (va, tag), c in wanted.items()})
                uow.commit()
            continue
        _, src, dst, tag, quantity = op
        before = snapshot(db, ids)
        expected = oracle(before, usage_sums(db, ids), TODAY)
        q, u, r = expected.get((ids[src], tag), (0, 0, 0))
        has_tag = any(k[0] == ids[src] and k[1] == tag for k in before)
        try:
            with db.uow() as uow:
                transfer(uow, actor, name, VAS[src], VAS[dst], tag, quantity)
                uow.commit()
            outcome: type[Exception] | None = None
        except (InvalidInput, NotFound, Conflict) as exc:
            outcome = type(exc)
        after = snapshot(db, ids)
        moved = oracle(after, usage_sums(db, ids), TODAY)
        if src == dst or quantity < 1:
            assert outcome is InvalidInput
        elif not has_tag:
            assert outcome is NotFound
        elif quantity > q - u - r:
            assert outcome is Conflict
        else:
            assert outcome is None
            # Counted as of today, the source lost exactly what the target gained.
            assert moved.get((ids[src], tag), (0,))[0] == q - quantity
            assert moved[(ids[dst], tag)][0] == expected.get((ids[dst], tag), (0,))[0] + quantity
        if outcome is not None:
            assert after == before
        assert conserved(after) == conserved(before)

    lines_now, usage_now = snapshot(db, ids), usage_sums(db, ids)
    acc = account_id(db, name)
    edges = {d + timedelta(days=step) for k in lines_now for d in k[4:6] if d
             for step in (-1, 0, 1)}
    with db.reader() as uow:
        for on in sorted(edges | {TODAY + timedelta(days=offset) for offset in days}):
            page = list_counters(uow.session, on, account_id=acc, limit=1000)
            got = {(vas[row.virtual_account], row.counter.tag): row.counter for row in page.rows}
            assert page.total == len(got)
            assert {k: (c.quantity, c.in_use, c.reserved) for k, c in got.items()} == oracle(
                lines_now, usage_now, on)
            for c in got.values():
                assert c.available == c.quantity - c.in_use - c.reserved
                assert c.status == (OUT_OF_COMPLIANCE if c.available < 0 else IN_COMPLIANCE)
        totals = uow.session.execute(
            select(UsageTotal.va_id, UsageTotal.tag, UsageTotal.in_use, UsageTotal.reserved)
            .join(VirtualAccount, VirtualAccount.id == UsageTotal.va_id)
            .where(VirtualAccount.account_id == acc))
        summed = {(va, tag): (u, r) for va, tag, u, r in totals if u or r}
    assert summed == {(va, tag): (usage_now[(va, tag, "in_use")],
                                  usage_now[(va, tag, "reserved")])
                      for va, tag, _kind in usage_now if usage_now[(va, tag, _kind)]}

"""Stored pool quantities: whatever writes the lines and whatever day it is, the counters read
from the pool rows equal the sum of the lines, as counters were computed before they were
stored (the reference below)."""

from __future__ import annotations

import itertools
import json
import threading
from datetime import UTC, date, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import (
    and_,
    case,
    column,
    delete,
    func,
    insert,
    or_,
    select,
    table,
    text,
    union,
    update,
)

from satellite.accounts.models import VirtualAccount
from satellite.actor import Actor
from satellite.bootstrap import database
from satellite.clock import FixedClock
from satellite.config import Settings, load_settings
from satellite.db import alembic_config, make_engine
from satellite.errors import Conflict, InvalidInput, NotFound
from satellite.labels.models import LicenseLabel
from satellite.labels.service import Item, add_labels
from satellite.licenses.counters import (
    active_on,
    every_counter,
    list_counters,
    tag_pools,
    va_counters,
)
from satellite.licenses.models import (
    LICENSE_TYPES,
    USAGE_KINDS,
    LicenseLine,
    TagSearch,
    UsageTotal,
)
from satellite.licenses.pools import (
    drifted_pools,
    drifted_tags,
    refresh_pools,
    refresh_pools_job,
    refresh_stale,
    summarize,
)
from satellite.licenses.transfers import transfer
from satellite.licenses.usage import set_usage
from satellite.uow import Database
from tests.licenses.helpers import account_id, make_account

TODAY = date(2026, 3, 1)
TAGS = ("regid.a", "regid.b")
VAS = ("V0", "V1", "V2")
_accounts = itertools.count()
Row = tuple[int, int, int]


def reference(db: Database, va_ids: list[int], on: date) -> dict[tuple[int, str], Row]:
    """Counters as they were computed before quantities were stored: lines grouped per pool."""
    keys = union(
        select(LicenseLine.va_id, LicenseLine.tag).where(LicenseLine.va_id.in_(va_ids)),
        select(UsageTotal.va_id, UsageTotal.tag).where(
            UsageTotal.va_id.in_(va_ids), or_(UsageTotal.in_use != 0, UsageTotal.reserved != 0)),
    ).subquery()
    pools = (select(LicenseLine.va_id, LicenseLine.tag,
                    func.sum(case((active_on(on), LicenseLine.quantity), else_=0)).label("q"))
             .where(LicenseLine.va_id.in_(va_ids))
             .group_by(LicenseLine.va_id, LicenseLine.tag).subquery())
    query = (select(keys.c.va_id, keys.c.tag, func.coalesce(pools.c.q, 0),
                    func.coalesce(UsageTotal.in_use, 0), func.coalesce(UsageTotal.reserved, 0))
             .select_from(keys)
             .outerjoin(pools, and_(pools.c.va_id == keys.c.va_id, pools.c.tag == keys.c.tag))
             .outerjoin(UsageTotal, and_(UsageTotal.va_id == keys.c.va_id,
                                         UsageTotal.tag == keys.c.tag)))
    with db.reader() as uow:
        return {(va, tag): (int(q), int(u), int(r))
                for va, tag, q, u, r in uow.session.execute(query)}


def stored(db: Database, acc: int, va_ids: list[int], on: date) -> dict[tuple[int, str], Row]:
    """The same counters through every read the product has, which must agree."""
    with db.reader() as uow:
        s = uow.session
        page = list_counters(s, on, account_id=acc, limit=None)
        listed = {(row.counter.va_id, row.counter.tag): (row.counter.quantity,
                                                         row.counter.in_use,
                                                         row.counter.reserved)
                  for row in page.rows}
        assert page.total == len(listed)
        for va in va_ids:
            got = va_counters(s, va, on)
            assert {(va, t): (c.quantity, c.in_use, c.reserved) for t, c in got.items()} == {
                k: v for k, v in listed.items() if k[0] == va}
            asked = va_counters(s, va, on, list(TAGS))
            for tag in TAGS:
                c = asked[tag]
                assert (c.quantity, c.in_use, c.reserved) == listed.get((va, tag), (0, 0, 0))
            pools = tag_pools(s, va, on, list(TAGS))
            with_lines = set(s.scalars(select(LicenseLine.tag).where(LicenseLine.va_id == va)))
            assert set(pools) == with_lines
            for tag, pool in pools.items():
                c = pool.counter
                assert (c.quantity, c.in_use, c.reserved) == listed[(va, tag)]
                assert pool.export_controlled == bool(s.scalar(
                    select(func.count()).where(LicenseLine.va_id == va, LicenseLine.tag == tag,
                                               LicenseLine.export_controlled)))
        every = {(c.va_id, c.tag): (c.quantity, c.in_use, c.reserved)
                 for c in every_counter(s, on) if c.va_id in va_ids}
        assert every == listed
        return listed


dates = st.sampled_from((None, -60, -1, 0, 1, 2, 30)).map(
    lambda d: None if d is None else TODAY + timedelta(days=d))
line_terms = st.tuples(st.integers(0, 2), st.sampled_from(TAGS), st.sampled_from(LICENSE_TYPES),
                       st.integers(0, 20), dates, st.sampled_from((None, 0, 1, 30)),
                       st.booleans())
operations = st.one_of(
    st.tuples(st.just("add"), line_terms),
    st.tuples(st.just("change"), st.integers(0, 50), line_terms),
    st.tuples(st.just("remove"), st.integers(0, 50)),
    st.tuples(st.just("delete-statement"), st.sampled_from(TAGS)),
    st.tuples(st.just("update-statement"), st.sampled_from(TAGS), st.integers(0, 9)),
    st.tuples(st.just("connection-insert"), line_terms),
    st.tuples(st.just("usage"), st.integers(0, 2), st.sampled_from(USAGE_KINDS),
              st.dictionaries(st.tuples(st.integers(0, 2), st.sampled_from(TAGS)),
                              st.integers(0, 9), max_size=3)),
    st.tuples(st.just("transfer"), st.integers(0, 2), st.integers(0, 2), st.sampled_from(TAGS),
              st.integers(1, 12)),
    st.tuples(st.just("day"), st.integers(-3, 40)),
)


def _line(ids: list[int], terms: tuple[Any, ...]) -> dict[str, Any]:
    va, tag, kind, quantity, start, length, export = terms
    end = None if length is None else (start or TODAY) + timedelta(days=length)
    return {"va_id": ids[va], "tag": tag, "license_type": kind, "quantity": quantity,
            "start_date": start, "end_date": end, "export_controlled": export,
            "display_name": tag, "subscription_id": "", "origin_id": "o"}


def _apply(db: Database, actor: Actor, clock: FixedClock, name: str, ids: list[int],
           op: tuple[Any, ...]) -> None:
    kind = op[0]
    if kind == "day":
        # Writes take "today" from the clock: stored windows start from different days.
        clock.set(datetime.combine(TODAY + timedelta(days=op[1]), datetime.min.time(),
                                   tzinfo=UTC))
        return
    if kind == "transfer":
        _, src, dst, tag, quantity = op
        try:
            with db.uow() as uow:
                transfer(uow, actor, name, VAS[src], VAS[dst], tag, quantity)
                uow.commit()
        except (InvalidInput, NotFound, Conflict):
            pass
        return
    with db.uow() as uow:
        s = uow.session
        lines = list(s.scalars(select(LicenseLine).where(LicenseLine.va_id.in_(ids))
                               .order_by(LicenseLine.id)))
        if kind == "add":
            s.add(LicenseLine(**_line(ids, op[1])))
        elif kind == "change" and lines:
            line = lines[op[1] % len(lines)]
            for column, value in _line(ids, op[2]).items():
                setattr(line, column, value)
        elif kind == "remove" and lines:
            s.delete(lines[op[1] % len(lines)])
        elif kind == "delete-statement":
            s.execute(delete(LicenseLine).where(LicenseLine.va_id.in_(ids),
                                                LicenseLine.tag == op[1]))
        elif kind == "update-statement":
            s.execute(update(LicenseLine).where(LicenseLine.va_id.in_(ids),
                                                LicenseLine.tag == op[1])
                      .values(quantity=op[2], tag=TAGS[0]))
        elif kind == "connection-insert":
            values = _line(ids, op[1])
            s.connection().execute(insert(LicenseLine), [values])
            refresh_pools(s, [(values["va_id"], values["tag"])])
        elif kind == "usage":
            _, owner, usage_kind, wanted = op
            set_usage(s, f"device:{name}:{owner}", usage_kind,
                      {(ids[va], tag): n for (va, tag), n in wanted.items()})
        uow.commit()


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ops=st.lists(operations, max_size=10),
       days=st.lists(st.integers(-90, 120), min_size=1, max_size=4))
def test_stored_counters_equal_the_sum_of_the_lines(
        db: Database, actor: Actor, clock: FixedClock, ops: list[tuple[Any, ...]],
        days: list[int]) -> None:
    n = next(_accounts)
    name = f"Q{n}"
    clock.set(datetime(2026, 3, 1, 12, tzinfo=UTC))
    vas = make_account(db, actor, name, f"q{n}.example.com", vas=VAS)
    ids = [vas[v] for v in VAS]
    acc = account_id(db, name)
    for op in ops:
        _apply(db, actor, clock, name, ids, op)
        with db.reader() as uow:
            assert drifted_pools(uow.session) == []
            assert drifted_tags(uow.session) == []
    with db.reader() as uow:
        edges = {d + timedelta(days=step) for d in itertools.chain.from_iterable(
            uow.session.execute(select(LicenseLine.start_date, LicenseLine.end_date)
                                .where(LicenseLine.va_id.in_(ids)))) if d
            for step in (-1, 0, 1)}
    on_days = sorted(edges | {TODAY + timedelta(days=d) for d in days})
    for on in on_days:
        assert stored(db, acc, ids, on) == reference(db, ids, on), on
    # The daily refresh moves stored windows to another day; counters do not change.
    with db.uow() as uow:
        refresh_stale(uow.session, on_days[-1])
        uow.commit()
    for on in on_days:
        assert stored(db, acc, ids, on) == reference(db, ids, on), on


def test_summarize_gives_the_widest_window_in_which_the_sum_holds() -> None:
    lines = [("PERPETUAL", 5, date(2026, 6, 1), date(2026, 6, 2), True),
             ("TERM", 3, date(2026, 3, 1), date(2026, 3, 31), False),
             ("DEMO", 2, date(2026, 4, 10), None, False),
             ("TERM", 7, None, date(2026, 2, 1), False)]
    pool = summarize(lines, date(2026, 3, 15))
    # The PERPETUAL line's dates never matter; the others change the sum on 3/1, 4/1, 4/10.
    assert (pool.quantity, pool.lines, pool.export_controlled) == (8, 4, True)
    assert (pool.quantity_from, pool.quantity_until) == (date(2026, 3, 1), date(2026, 4, 1))
    before = summarize(lines, date(2026, 1, 1))
    assert (before.quantity, before.quantity_from, before.quantity_until) == (
        12, None, date(2026, 2, 2))
    after = summarize(lines, date(2027, 1, 1))
    assert (after.quantity, after.quantity_from, after.quantity_until) == (
        7, date(2026, 4, 10), None)
    assert summarize([], date(2026, 1, 1)) == summarize([], date(2030, 1, 1))


def test_a_line_written_without_refresh_is_caught(db: Database, actor: Actor) -> None:
    vas = make_account(db, actor, "Drift", "drift.example.com", vas=("Lab",))
    with db.uow() as uow:
        uow.session.connection().execute(insert(LicenseLine), [_line([vas["Lab"]] * 3, (
            0, TAGS[0], "PERPETUAL", 4, None, None, False))])
        assert drifted_pools(uow.session) == [(vas["Lab"], TAGS[0])]
        # An insert statement through the Session cannot tell which pools it touched.
        try:
            uow.session.execute(insert(LicenseLine), [_line([vas["Lab"]] * 3, (
                0, TAGS[0], "PERPETUAL", 4, None, None, False))])
        except RuntimeError as exc:
            assert "refresh_pools" in str(exc)
        else:
            raise AssertionError("an ORM insert statement of lines went through unrefreshed")
        refresh_pools(uow.session, [(vas["Lab"], TAGS[0])])
        assert drifted_pools(uow.session) == []
        rows = uow.session.execute(select(UsageTotal.quantity, UsageTotal.lines)
                                   .join(VirtualAccount, VirtualAccount.id == UsageTotal.va_id)
                                   .where(VirtualAccount.name == "Lab")).all()
        assert [tuple(r) for r in rows] == [(4, 1)]


def test_migration_0010_fills_the_pool_rows_from_existing_lines(settings: Settings) -> None:
    """An appliance upgraded from 0009 gets every pool's quantity, also pools without usage."""
    from alembic import command

    engine = make_engine(settings.effective_database_url)
    try:
        command.upgrade(alembic_config(engine), "0009_job_runs")
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO accounts (id, name, domain, reservation_mode, created_at) "
                "VALUES (1, 'Acme', 'acme.example.com', 'none', '2025-01-01 00:00:00')"))
            conn.execute(text(
                "INSERT INTO virtual_accounts (id, account_id, name, description, depth,"
                " is_default, created_at) VALUES (1, 1, 'Default', '', 1, true,"
                " '2025-01-01 00:00:00'), (2, 1, 'Lab', '', 2, false, '2025-01-01 00:00:00')"))
            # The lines as they were then, free-text search words included.
            old_lines = table("license_lines", *(column(c.name) for c in LicenseLine.__table__.c),
                              column("search_tags"))
            conn.execute(insert(old_lines), [
                {**_line([1, 2, 2], terms), "id": n, "search_tags": words}
                for n, (terms, words) in enumerate((
                    ((0, TAGS[0], "PERPETUAL", 5, None, None, False), "Edge wan bad;word"),
                    ((0, TAGS[0], "TERM", 3, date(2000, 1, 1), 365, True), "edge"),
                    ((1, TAGS[1], "TERM", 4, date(2000, 1, 1), None, False), "")), 1)])
            conn.execute(text("INSERT INTO license_usage_totals (va_id, tag, in_use, reserved)"
                              " VALUES (2, 'regid.b', 7, 0), (2, 'regid.a', 1, 0)"))
        command.upgrade(alembic_config(engine), "heads")
        db = database(engine)
        with db.reader() as uow:
            assert drifted_pools(uow.session) == []
            assert drifted_tags(uow.session) == []
            assert uow.session.scalar(select(func.count()).select_from(TagSearch)) == 2
            rows = uow.session.execute(
                select(UsageTotal.va_id, UsageTotal.tag, UsageTotal.quantity, UsageTotal.lines,
                       UsageTotal.export_controlled, UsageTotal.in_use)
                .order_by(UsageTotal.va_id, UsageTotal.tag)).all()
        assert [tuple(r) for r in rows] == [(1, TAGS[0], 5, 2, True, 0),
                                            (2, TAGS[0], 0, 0, False, 1),
                                            (2, TAGS[1], 4, 1, False, 7)]
        # Since 0017 the lines' search words are their pools' tags (words that are tags).
        with db.reader() as uow:
            labels = uow.session.execute(select(LicenseLabel.va_id, LicenseLabel.tag,
                                                LicenseLabel.label)).all()
        assert sorted(tuple(r) for r in labels) == [(1, TAGS[0], "edge"), (1, TAGS[0], "wan")]
    finally:
        engine.dispose()


def test_the_hourly_job_and_the_repair_command(db: Database, actor: Actor, clock: FixedClock,
                                               cli: Any) -> None:
    vas = make_account(db, actor, "Job", "job.example.com", vas=("Lab",))
    clock.set(datetime(2026, 3, 1, tzinfo=UTC))
    with db.uow() as uow:
        uow.session.add(LicenseLine(**_line([vas["Lab"]] * 3, (
            0, TAGS[0], "TERM", 6, date(2026, 2, 1), 29, False))))
        uow.commit()

    def window() -> tuple[Any, ...]:
        with db.reader() as uow:
            return tuple(uow.session.execute(
                select(UsageTotal.quantity, UsageTotal.quantity_from, UsageTotal.quantity_until)
                .where(UsageTotal.va_id == vas["Lab"])).one())

    assert window() == (6, date(2026, 2, 1), date(2026, 3, 3))
    clock.set(datetime(2026, 3, 5, tzinfo=UTC))
    refresh_pools_job(db, load_settings(env={}))
    assert window() == (0, date(2026, 3, 3), None)

    with db.uow() as uow:
        uow.session.execute(text("UPDATE license_usage_totals SET quantity = 99"))
        uow.commit()
    result = cli("maintenance", "rebuild-pools", "--json")
    assert result.code == 0, result.err
    assert json.loads(result.out) == {"pools": 1, "corrected": 1}
    assert window()[0] == 0


def test_text_finds_tags_by_the_names_of_their_lines_in_any_va(db: Database,
                                                                actor: Actor) -> None:
    vas = make_account(db, actor, "Text", "text.example.com", vas=("Lab", "Ops"))
    with db.uow() as uow:
        uow.session.add(LicenseLine(**{**_line([vas["Lab"]] * 3, (
            0, TAGS[0], "PERPETUAL", 2, None, None, False)),
            "display_name": "Router Advantage"}))
        set_usage(uow.session, "device:1", "in_use", {(vas["Ops"], TAGS[0]): 1})
        uow.commit()
    with db.uow() as uow:
        add_labels(uow, actor, Item("license", account="Text", va="Lab", license=TAGS[0]),
                   ["edge", "wan"])
        uow.commit()
    acc = account_id(db, "Text")

    def found(text_: str) -> list[str]:
        with db.reader() as uow:
            page = list_counters(uow.session, TODAY, account_id=acc, text=text_)
        return sorted(row.virtual_account for row in page.rows)

    # Ops holds no line of the tag; its pool is found by the name of Lab's line.
    assert found("ADVANTAGE") == ["Lab", "Ops"]
    # The operator's words belong to Lab's pool (its tags), found whole.
    assert found("WAN") == ["Lab"]
    assert found("wa") == []
    assert found("advantage edge") == []  # not across the name and the tags
    with db.uow() as uow:
        line = uow.session.scalars(select(LicenseLine)).one()
        line.display_name = "Router Essentials"
        uow.commit()
    assert found("advantage") == []
    assert found("essentials") == ["Lab", "Ops"]


def test_concurrent_writers_of_one_pool_leave_it_exact(db: Database, actor: Actor) -> None:
    """On PostgreSQL each writer reads the lines after locking the pool row, so the last one to
    commit sees every line (no writer's change is lost from the stored quantity)."""
    vas = make_account(db, actor, "Busy", "busy.example.com", vas=("Lab",))
    with db.uow() as uow:
        mine = [LicenseLine(**_line([vas["Lab"]] * 3, (
            0, TAGS[0], "PERPETUAL", 1, None, None, False))) for _n in range(6)]
        uow.session.add_all(mine)
        uow.commit()
        ids = [line.id for line in mine]
    errors: list[BaseException] = []
    start = threading.Barrier(len(ids))

    def write(line_id: int) -> None:
        try:
            start.wait()
            for _round in range(5):
                with db.uow() as uow:
                    # Quantities only: the tag's search words stay, so only the pool is locked.
                    line = uow.session.get(LicenseLine, line_id)
                    assert line is not None
                    line.quantity += 1
                    uow.commit()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(line_id,)) for line_id in ids]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with db.reader() as uow:
        assert drifted_pools(uow.session) == [] and drifted_tags(uow.session) == []
        assert va_counters(uow.session, vas["Lab"], TODAY)[TAGS[0]].quantity == 6 * 6


def test_a_summary_page_skips_the_lines_and_the_count(db: Database, actor: Actor) -> None:
    vas = make_account(db, actor, "Sum", "sum.example.com", vas=("Lab", "Ops"))
    with db.uow() as uow:
        for va in ("Lab", "Ops"):
            uow.session.add(LicenseLine(**_line([vas[va]] * 3, (
                0, TAGS[0], "PERPETUAL", 2, None, None, False))))
        uow.commit()
    acc = account_id(db, "Sum")
    with db.reader() as uow:
        full = list_counters(uow.session, TODAY, account_id=acc, limit=1)
        summary = list_counters(uow.session, TODAY, account_id=acc, limit=1, details=False,
                                count=False)
    assert (full.total, len(full.rows[0].details)) == (2, 1)
    assert (summary.total, summary.rows[0].details) == (1, ())
    assert summary.rows[0].counter == full.rows[0].counter

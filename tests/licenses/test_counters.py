from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any

import pytest
from sqlalchemy import event

from satellite.actor import Actor
from satellite.errors import InvalidInput
from satellite.licenses.counters import counter, list_counters, va_counters
from satellite.licenses.models import IN_COMPLIANCE, OUT_OF_COMPLIANCE
from satellite.licenses.usage import set_usage
from satellite.uow import Database
from tests.licenses.helpers import ROUTER, SWITCH, account_id, add_line, make_account

TODAY = date(2026, 3, 1)  # the fixed clock's date


def use(db: Database, owner: str, kind: str, usage: dict[tuple[int, str], int]) -> None:
    with db.uow() as uow:
        set_usage(uow.session, owner, kind, usage)
        uow.commit()


def count_on(db: Database, va_id: int, tag: str, on: date = TODAY) -> int:
    with db.reader() as uow:
        return counter(uow.session, va_id, tag, on).quantity


def test_term_and_demo_lines_count_only_between_their_dates(db: Database, actor: Actor) -> None:
    lab = make_account(db, actor)["Lab"]
    add_line(db, lab, ROUTER, 2)
    add_line(db, lab, ROUTER, 10, "TERM", date(2026, 1, 1), date(2026, 12, 31))
    add_line(db, lab, ROUTER, 5, "DEMO", date(2026, 3, 2), date(2026, 4, 1))
    add_line(db, lab, ROUTER, 7, "TERM", date(2025, 1, 1), date(2026, 2, 28))
    assert count_on(db, lab, ROUTER) == 12
    assert count_on(db, lab, ROUTER, date(2026, 3, 2)) == 17
    assert count_on(db, lab, ROUTER, date(2026, 4, 1)) == 17  # end date is inclusive
    assert count_on(db, lab, ROUTER, date(2026, 4, 2)) == 12
    assert count_on(db, lab, ROUTER, date(2026, 2, 28)) == 19
    assert count_on(db, lab, ROUTER, date(2027, 1, 1)) == 2
    assert count_on(db, lab, ROUTER, date(2024, 1, 1)) == 2


def test_undated_term_lines_and_dated_perpetual_lines_always_count(db: Database,
                                                                  actor: Actor) -> None:
    lab = make_account(db, actor)["Lab"]
    add_line(db, lab, ROUTER, 3, "TERM")
    add_line(db, lab, ROUTER, 4, "PERPETUAL", date(2020, 1, 1), date(2020, 2, 1))
    add_line(db, lab, ROUTER, 1, "TERM", start=date(2026, 1, 1))
    assert count_on(db, lab, ROUTER) == 8
    assert count_on(db, lab, ROUTER, date(2025, 1, 1)) == 7


def test_shortfall_is_out_of_compliance(db: Database, actor: Actor) -> None:
    lab = make_account(db, actor)["Lab"]
    add_line(db, lab, ROUTER, 5)
    use(db, "device:1", "in_use", {(lab, ROUTER): 3})
    use(db, "reservation:1", "reserved", {(lab, ROUTER): 2})
    with db.reader() as uow:
        c = counter(uow.session, lab, ROUTER, TODAY)
    assert (c.quantity, c.in_use, c.reserved, c.available, c.status) == (5, 3, 2, 0, IN_COMPLIANCE)
    use(db, "device:2", "in_use", {(lab, ROUTER): 1})
    with db.reader() as uow:
        c = counter(uow.session, lab, ROUTER, TODAY)
    assert (c.available, c.status) == (-1, OUT_OF_COMPLIANCE)


def test_an_expired_term_line_turns_usage_out_of_compliance(db: Database, actor: Actor) -> None:
    lab = make_account(db, actor)["Lab"]
    add_line(db, lab, ROUTER, 5, "TERM", date(2026, 1, 1), date(2026, 3, 31))
    use(db, "device:1", "in_use", {(lab, ROUTER): 4})
    with db.reader() as uow:
        assert counter(uow.session, lab, ROUTER, TODAY).status == IN_COMPLIANCE
        assert counter(uow.session, lab, ROUTER, date(2026, 4, 1)).status == OUT_OF_COMPLIANCE


def test_usage_of_a_tag_the_va_does_not_hold_shows_as_a_shortfall(db: Database,
                                                                   actor: Actor) -> None:
    lab = make_account(db, actor)["Lab"]
    add_line(db, lab, ROUTER, 5)
    use(db, "device:1", "in_use", {(lab, SWITCH): 2})
    with db.reader() as uow:
        found = va_counters(uow.session, lab, TODAY)
        asked = va_counters(uow.session, lab, TODAY, ["regid.unknown", ROUTER])
    assert {t: (c.quantity, c.in_use, c.status) for t, c in found.items()} == {
        ROUTER: (5, 0, IN_COMPLIANCE), SWITCH: (0, 2, OUT_OF_COMPLIANCE)}
    assert {t: (c.quantity, c.available) for t, c in asked.items()} == {
        "regid.unknown": (0, 0), ROUTER: (5, 5)}


def test_account_listing_filters_pages_and_shows_the_lines(db: Database, actor: Actor) -> None:
    vas = make_account(db, actor)
    other = make_account(db, actor, "Other", "other.example.com", vas=("Lab",))
    add_line(db, vas["Lab"], ROUTER, 4, "TERM", date(2026, 1, 1), date(2026, 12, 31),
             subscription_id="Sub-1")
    add_line(db, vas["Lab"], ROUTER, 1, "PERPETUAL", origin="order-2")
    add_line(db, vas["Lab"], SWITCH, 2)
    add_line(db, vas["Ops"], ROUTER, 1)
    add_line(db, other["Lab"], ROUTER, 9)
    use(db, "device:1", "in_use", {(vas["Ops"], ROUTER): 3})
    acme = account_id(db, "Acme")
    with db.reader() as uow:
        everything = list_counters(uow.session, TODAY, account_id=acme)
        out = list_counters(uow.session, TODAY, account_id=acme, status=OUT_OF_COMPLIANCE)
        ok = list_counters(uow.session, TODAY, account_id=acme, status=IN_COMPLIANCE)
        routers = list_counters(uow.session, TODAY, account_id=acme, tag=ROUTER)
        ops = list_counters(uow.session, TODAY, account_id=acme, va_names=["Ops"])
        second = list_counters(uow.session, TODAY, account_id=acme, limit=1, offset=1)
        all_accounts = list_counters(uow.session, TODAY)
    assert [(r.virtual_account, r.counter.tag, r.counter.quantity) for r in everything.rows] == [
        ("Lab", ROUTER, 5), ("Lab", SWITCH, 2), ("Ops", ROUTER, 1)]
    assert everything.total == 3
    assert [(r.virtual_account, r.counter.available) for r in out.rows] == [("Ops", -2)]
    assert (out.total, ok.total, routers.total, ops.total) == (1, 2, 2, 1)
    assert second.total == 3
    assert [(r.virtual_account, r.counter.tag) for r in second.rows] == [("Lab", SWITCH)]
    assert [r.account for r in all_accounts.rows] == ["Acme"] * 3 + ["Other"]
    details = everything.rows[0].details
    assert [(d.license_type, d.quantity, d.start_date, d.end_date, d.subscription_id)
            for d in details] == [("TERM", 4, date(2026, 1, 1), date(2026, 12, 31), "Sub-1"),
                                  ("PERPETUAL", 1, None, None, "")]


@contextmanager
def counting_queries(db: Database) -> Iterator[list[str]]:
    statements: list[str] = []

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", before)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", before)


def test_listing_takes_the_same_few_queries_for_many_vas(db: Database, actor: Actor) -> None:
    def queries_for(account: str, domain: str, n_vas: int) -> int:
        vas = make_account(db, actor, account, domain, vas=tuple(f"VA{i}" for i in range(n_vas)))
        for i, va_id in enumerate(vas.values()):
            add_line(db, va_id, ROUTER, 1 + i)
            add_line(db, va_id, SWITCH, 2, "TERM", date(2026, 1, 1), date(2026, 12, 31))
            use(db, f"device:{account}{i}", "in_use", {(va_id, ROUTER): 1})
        acc = account_id(db, account)
        with counting_queries(db) as statements, db.reader() as uow:
            page = list_counters(uow.session, TODAY, account_id=acc)
            assert page.total == 2 * len(vas)
        return len(statements)

    assert queries_for("Small", "small.example.com", 2) == queries_for(
        "Large", "large.example.com", 30)


def test_a_listing_refuses_an_unknown_status_or_a_bad_page(db: Database) -> None:
    with db.reader() as uow:
        with pytest.raises(InvalidInput, match="status 'Fine' is not one of"):
            list_counters(uow.session, TODAY, status="Fine")
        with pytest.raises(InvalidInput, match="limit >= 1"):
            list_counters(uow.session, TODAY, limit=0)

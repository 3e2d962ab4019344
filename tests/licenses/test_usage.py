from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from satellite.actor import Actor
from satellite.errors import InvalidInput
from satellite.licenses.models import LicenseUsage, UsageTotal
from satellite.licenses.usage import owner_usage, release, set_usage
from satellite.uow import Database
from tests.licenses.helpers import ROUTER, SWITCH, make_account


def totals(db: Database) -> dict[tuple[int, str], tuple[int, int]]:
    with db.reader() as uow:
        rows = uow.session.execute(select(UsageTotal.va_id, UsageTotal.tag, UsageTotal.in_use,
                                          UsageTotal.reserved))
        return {(va, tag): (u, r) for va, tag, u, r in rows if u or r}


def usage_rows(db: Database) -> int:
    with db.reader() as uow:
        return uow.session.scalar(select(func.count()).select_from(LicenseUsage)) or 0


def put(db: Database, owner: str, kind: str, usage: dict[tuple[int, str], int]) -> None:
    with db.uow() as uow:
        set_usage(uow.session, owner, kind, usage)
        uow.commit()


def test_usage_of_several_owners_adds_up_per_va_and_tag(db: Database, actor: Actor) -> None:
    vas = make_account(db, actor)
    lab, ops = vas["Lab"], vas["Ops"]
    put(db, "device:1", "in_use", {(lab, ROUTER): 2, (ops, SWITCH): 1})
    put(db, "device:2", "in_use", {(lab, ROUTER): 3})
    put(db, "reservation:1", "reserved", {(lab, ROUTER): 4})
    assert totals(db) == {(lab, ROUTER): (5, 4), (ops, SWITCH): (1, 0)}


def test_a_new_report_replaces_the_owners_previous_one(db: Database, actor: Actor) -> None:
    vas = make_account(db, actor)
    lab = vas["Lab"]
    put(db, "device:1", "in_use", {(lab, ROUTER): 2, (lab, SWITCH): 1})
    put(db, "device:2", "in_use", {(lab, ROUTER): 1})
    put(db, "device:1", "in_use", {(lab, ROUTER): 5, (lab, SWITCH): 0})
    assert totals(db) == {(lab, ROUTER): (6, 0)}
    with db.reader() as uow:
        assert owner_usage(uow.session, "device:1", "in_use") == {(lab, ROUTER): 5}
    assert usage_rows(db) == 2


def test_release_gives_everything_back(db: Database, actor: Actor) -> None:
    lab = make_account(db, actor)["Lab"]
    put(db, "device:1", "in_use", {(lab, ROUTER): 2})
    put(db, "device:1", "reserved", {(lab, SWITCH): 3})
    put(db, "device:2", "in_use", {(lab, ROUTER): 1})
    with db.uow() as uow:
        release(uow.session, "device:1")
        uow.commit()
    assert totals(db) == {(lab, ROUTER): (1, 0)}
    assert usage_rows(db) == 1


@pytest.mark.parametrize("kind, usage, message", [
    ("in_use", {ROUTER: -1}, "cannot be negative"),
    ("in_use", {ROUTER: 1.5}, "whole number"),
    ("consumed", {ROUTER: 1}, "usage kind 'consumed'"),
])
def test_bad_usage_is_refused_and_nothing_changes(db: Database, actor: Actor, kind: str,
                                                   usage: dict[str, object],
                                                   message: str) -> None:
    lab = make_account(db, actor)["Lab"]
    put(db, "device:1", "in_use", {(lab, ROUTER): 2})
    with db.uow() as uow, pytest.raises(InvalidInput, match=message):
        set_usage(uow.session, "device:1", kind,
                  {(lab, SWITCH): 1, **{(lab, t): n for t, n in usage.items()}})  # type: ignore[dict-item]
    assert totals(db) == {(lab, ROUTER): (2, 0)}
    assert usage_rows(db) == 1


def test_concurrent_reports_on_one_pool_are_counted_exactly(db: Database, actor: Actor) -> None:
    lab = make_account(db, actor)["Lab"]
    errors: list[BaseException] = []

    def report(n: int) -> None:
        try:
            for round_ in range(5):
                put(db, f"device:{n}", "in_use", {(lab, ROUTER): n + round_})
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=report, args=(n,)) for n in range(1, 9)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert totals(db) == {(lab, ROUTER): (sum(n + 4 for n in range(1, 9)), 0)}

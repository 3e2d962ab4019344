"""Consumption history: hourly snapshots, idempotent per hour, pruned, read as the actor sees."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from satellite.access.grants import grant
from satellite.accounts.removal import delete_va
from satellite.actor import Actor
from satellite.clock import FixedClock
from satellite.config import Settings
from satellite.errors import NotFound
from satellite.licenses.models import UsageSnapshot
from satellite.licenses.usage import set_usage
from satellite.licenses.usage_history import snapshot_usage, usage_history, usage_history_job
from satellite.scheduler import all_jobs
from satellite.uow import Database
from satellite.users.service import create_user, user_actor
from tests.licenses.helpers import ROUTER, SWITCH, add_line, make_account

ADMIN = Actor("cli", "tester")


def _use(db: Database, owner: str, va: int, tag: str, n: int, kind: str = "in_use") -> None:
    with db.uow() as uow:
        set_usage(uow.session, owner, kind, {(va, tag): n})
        uow.commit()


def _snapshot(db: Database, retention: int = 400) -> int:
    with db.uow() as uow:
        done = snapshot_usage(uow, uow.clock.now(), retention)
        uow.commit()
    return done.rows


def _rows(db: Database) -> int:
    with db.reader() as uow:
        return uow.session.scalar(select(func.count()).select_from(UsageSnapshot)) or 0


def test_hourly_snapshots_make_a_history_per_tag(db: Database, clock: FixedClock) -> None:
    vas = make_account(db, ADMIN)
    add_line(db, vas["Lab"], ROUTER, 5)
    add_line(db, vas["Ops"], ROUTER, 2)
    start = clock.now()
    for used in (1, 3, 4):
        _use(db, "device:1", vas["Lab"], ROUTER, used)
        _use(db, "reservation:1", vas["Ops"], ROUTER, 1, "reserved")
        assert _snapshot(db) == 2
        clock.advance(timedelta(hours=1))
    with db.reader() as uow:
        found = usage_history(uow.session, ADMIN, "acme.example.com", start - timedelta(days=1))
    assert [h.tag for h in found] == [ROUTER]
    points = found[0].points
    assert [(p.quantity, p.in_use, p.reserved) for p in points] == [(7, 1, 1), (7, 3, 1), (7, 4, 1)]
    assert points[1].at - points[0].at == timedelta(hours=1)


def test_a_second_snapshot_in_the_same_hour_replaces_the_first(
        db: Database, clock: FixedClock) -> None:
    vas = make_account(db, ADMIN)
    add_line(db, vas["Lab"], ROUTER, 5)
    _use(db, "device:1", vas["Lab"], ROUTER, 1)
    _snapshot(db)
    _use(db, "device:1", vas["Lab"], ROUTER, 2)
    clock.advance(timedelta(minutes=20))
    _snapshot(db)
    assert _rows(db) == 1
    with db.reader() as uow:
        [history] = usage_history(uow.session, ADMIN, "acme.example.com",
                                  clock.now() - timedelta(days=1))
    assert [p.in_use for p in history.points] == [2]


def test_old_hourly_detail_is_pruned_to_daily_and_the_retention_applies(
        db: Database, clock: FixedClock) -> None:
    vas = make_account(db, ADMIN)
    add_line(db, vas["Lab"], ROUTER, 5)
    clock.set(clock.now().replace(hour=0))
    for _ in range(48):
        _snapshot(db)
        clock.advance(timedelta(hours=1))
    assert _rows(db) == 48
    clock.advance(timedelta(days=9))
    _snapshot(db)
    # Each day keeps its first snapshot; today's is the one just taken.
    assert _rows(db) == 3
    with db.reader() as uow:
        daily = usage_history(uow.session, ADMIN, "acme.example.com",
                              clock.now() - timedelta(days=30), daily=True)
    assert len(daily[0].points) == 3
    clock.advance(timedelta(days=5))
    _snapshot(db, retention=3)
    assert _rows(db) == 1


def test_a_va_user_reads_only_its_vas_and_others_nothing(db: Database, clock: FixedClock) -> None:
    vas = make_account(db, ADMIN)
    add_line(db, vas["Lab"], ROUTER, 5)
    add_line(db, vas["Ops"], SWITCH, 9)
    make_account(db, ADMIN, "Other", "other.example.com", vas=())
    with db.uow() as uow:
        create_user(uow, ADMIN, "lea", "a long enough password 1")
        grant(uow, ADMIN, "lea", "va_user", "acme.example.com", "Lab")
        create_user(uow, ADMIN, "otto", "a long enough password 1")
        grant(uow, ADMIN, "otto", "account_viewer", "other.example.com")
        uow.commit()
    _snapshot(db)
    since = clock.now() - timedelta(days=1)
    with db.reader() as uow:
        from satellite.users.service import get_user

        lea = user_actor(get_user(uow.session, "lea"))
        otto = user_actor(get_user(uow.session, "otto"))
        assert [h.tag for h in usage_history(uow.session, lea, "acme.example.com", since)] \
            == [ROUTER]
        assert {h.tag for h in usage_history(uow.session, ADMIN, "acme.example.com", since)} \
            == {ROUTER, SWITCH}
        with pytest.raises(NotFound):
            usage_history(uow.session, otto, "acme.example.com", since)


def test_the_job_is_scheduled_and_deleting_a_va_drops_its_history(
        db: Database, settings: Settings, clock: FixedClock) -> None:
    assert "usage-history" in [job.name for job in all_jobs(settings)]
    vas = make_account(db, ADMIN, vas=("Lab", "Empty"))
    add_line(db, vas["Lab"], ROUTER, 5)
    _use(db, "device:1", vas["Empty"], ROUTER, 1)
    usage_history_job(db, settings)
    assert _rows(db) == 2
    _use(db, "device:1", vas["Empty"], ROUTER, 0)
    with db.uow() as uow:
        delete_va(uow, ADMIN, "acme.example.com", "Empty")
        uow.commit()
    assert _rows(db) == 1


def test_the_cli_records_a_snapshot_on_demand(db: Database, cli: object) -> None:
    vas = make_account(db, ADMIN)
    add_line(db, vas["Lab"], ROUTER, 5)
    result = cli("maintenance", "snapshot-usage")  # type: ignore[operator]
    assert result.code == 0, result.err
    assert "Recorded 1 counters" in result.out
    assert _rows(db) == 1


def test_the_most_used_tags_are_chosen(db: Database, clock: FixedClock) -> None:
    vas = make_account(db, ADMIN)
    add_line(db, vas["Lab"], ROUTER, 50)
    add_line(db, vas["Lab"], SWITCH, 5)
    _use(db, "device:1", vas["Lab"], SWITCH, 3)
    _snapshot(db)
    with db.reader() as uow:
        [top] = usage_history(uow.session, ADMIN, "acme.example.com",
                              clock.now() - timedelta(days=1), max_tags=1)
    assert top.tag == SWITCH

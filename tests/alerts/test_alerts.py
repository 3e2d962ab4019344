from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from satellite.actor import Actor
from satellite.alerts.service import evaluate, list_alerts
from satellite.clock import FixedClock
from satellite.config import Settings
from satellite.uow import Database
from tests.cloudsync.lab import Lab, make_lab


@pytest.fixture
def lab(db: Database, settings: Settings, actor: Actor, clock: FixedClock,
        tmp_path: Path) -> Lab:
    return make_lab(db, settings, actor, clock, tmp_path)


def _open(db: Database, account: str | None = None) -> list[tuple[str, str]]:
    with db.reader() as uow:
        return [(a.kind, a.message) for a in list_alerts(uow.session, Actor.local_operator(), account)]


def test_expiring_entitlements_are_alerted_per_window_and_cleared_when_renewed(
        lab: Lab, clock: FixedClock) -> None:
    today = clock.now().date()
    soon = lab.entitle(3, license_type="TERM", start_date=date(2025, 1, 1),
                       end_date=today + timedelta(days=20))
    lab.entitle(2, va=None, license_type="TERM", start_date=date(2025, 1, 1),
                end_date=today + timedelta(days=75))
    lab.entitle(1, license_type="TERM", start_date=date(2025, 1, 1),
                end_date=today + timedelta(days=200))
    lab.registered()
    messages = sorted(m for _, m in _open(lab.db, "abc.xyz.com"))
    assert len(messages) == 2
    assert "in abc.xyz.com/Lab expire on" in messages[0] + messages[1]
    assert any("(within 30 days)" in m for m in messages)
    assert any("(within 90 days)" in m for m in messages)
    from satellite.central import service as central

    central.unentitle(lab.central_dir, soon)
    lab.apply(lab.respond())
    assert [m for _, m in _open(lab.db)] == [m for m in messages if "90 days" in m]


def test_sync_overdue_is_raised_after_the_configured_days(lab: Lab, clock: FixedClock) -> None:
    lab.registered()
    clock.advance(timedelta(days=31))
    with lab.db.uow() as uow:
        evaluate(uow.session, clock.now(), overdue_days=30)
        uow.commit()
    [(kind, message)] = _open(lab.db)
    assert kind == "sync_overdue" and "for 31 days" in message
    lab.apply(lab.respond())
    assert _open(lab.db) == []

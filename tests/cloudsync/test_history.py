"""The sync history: what crossed the air gap, when, in which direction, and how it went."""

from __future__ import annotations

from pathlib import Path

import pytest

from satellite.access.grants import grant
from satellite.actor import Actor
from satellite.clock import FixedClock
from satellite.cloudsync.sync_history import list_history
from satellite.config import Settings
from satellite.errors import PermissionDenied, SatelliteError
from satellite.uow import Database
from satellite.users.service import create_user, get_user, user_actor
from tests.cloudsync.lab import Lab, make_lab


@pytest.fixture
def lab(db: Database, settings: Settings, actor: Actor, clock: FixedClock,
        tmp_path: Path) -> Lab:
    return make_lab(db, settings, actor, clock, tmp_path)


def _history(lab: Lab) -> list[tuple[str, bool, int | None, int | None]]:
    with lab.db.reader() as uow:
        rows = list_history(uow.session, lab.actor).rows
    return [(r.action, r.ok, r.serial, r.records) for r in reversed(rows)]


def test_exports_imports_and_registration_are_listed_with_counts(lab: Lab) -> None:
    lab.entitle(4)
    lab.registered()
    lab.report_usage("PID:A1", 1, 2)
    batch, report = lab.export()
    assert report.count == 1
    lab.ingest(batch)
    lab.apply(lab.respond(), dry_run=True)  # a preview leaves no trace
    lab.apply(lab.respond())
    rows = _history(lab)
    assert [r[:2] for r in rows] == [("register", True), ("import", True), ("export", True),
                                     ("import", True)]
    assert rows[2][3] == 1 and rows[1][3] == 1
    with lab.db.reader() as uow:
        last = list_history(uow.session, lab.actor, limit=1).rows[0]
    assert "1 events acknowledged" in last.summary and last.actor == lab.actor.label


def test_a_refused_import_is_listed_as_failed(lab: Lab) -> None:
    lab.registered()
    response = lab.respond()
    lab.apply(response)
    with pytest.raises(SatelliteError):
        lab.apply(response)  # a replay
    action, ok, _, _ = _history(lab)[-1]
    assert (action, ok) == ("import", False)
    with lab.db.reader() as uow:
        assert "replay" in list_history(uow.session, lab.actor, limit=1).rows[0].error


def test_only_system_administrators_read_the_history(lab: Lab) -> None:
    with lab.db.uow() as uow:
        create_user(uow, lab.actor, "ann", "a long enough password 1")
        grant(uow, lab.actor, "ann", "account_admin", "abc.xyz.com")
        uow.commit()
    with lab.db.reader() as uow:
        ann = user_actor(get_user(uow.session, "ann"))
        with pytest.raises(PermissionDenied):
            list_history(uow.session, ann)

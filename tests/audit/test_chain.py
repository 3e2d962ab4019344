from __future__ import annotations

from sqlalchemy import text

from satellite.actor import Actor
from satellite.audit.service import verify
from satellite.uow import Database
from tests.licenses.helpers import make_account


def chain(db: Database) -> tuple[int, int | None, str]:
    with db.reader() as uow:
        report = verify(uow.session)
    return report.events, report.broken_at, report.reason


def tamper(db: Database, sql: str) -> None:
    with db.engine.begin() as conn:
        conn.execute(text(sql))


def events(db: Database) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(text("SELECT count(*) FROM audit_events")).scalar_one())


def test_an_untouched_chain_verifies(db: Database, actor: Actor) -> None:
    make_account(db, actor)
    assert chain(db) == (events(db), None, "")
    assert events(db) >= 3  # the first admin, the account, its VAs


def test_changed_details_name_the_event(db: Database, actor: Actor) -> None:
    make_account(db, actor)
    tamper(db, "UPDATE audit_events SET details = '{\"name\": \"Evil\"}' WHERE id = 2")
    assert chain(db) == (1, 2, "its content does not match its hash")


def test_a_rewritten_link_names_the_event(db: Database, actor: Actor) -> None:
    make_account(db, actor)
    tamper(db, f"UPDATE audit_events SET prev_hash = '{'1' * 64}' WHERE id = 3")
    assert chain(db) == (2, 3, "it does not link to the event before it")


def test_a_deleted_event_is_named(db: Database, actor: Actor) -> None:
    make_account(db, actor)
    tamper(db, "DELETE FROM audit_events WHERE id = 2")
    assert chain(db) == (1, 2, "event 2 is missing")


def test_deleting_the_newest_events_is_noticed(db: Database, actor: Actor) -> None:
    make_account(db, actor)
    last = events(db)
    tamper(db, f"DELETE FROM audit_events WHERE id = {last}")
    assert chain(db) == (last - 1, last, "events after it were removed")

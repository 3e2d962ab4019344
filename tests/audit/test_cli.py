from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text

from satellite.actor import Actor
from satellite.audit.service import count_events
from satellite.uow import Database
from tests.licenses.helpers import make_account


def test_audit_verify_reports_an_intact_chain(db: Database, actor: Actor, cli: Any) -> None:
    make_account(db, actor)
    with db.reader() as uow:
        events = count_events(uow.session)
    assert events >= 3
    result = cli("audit", "verify")
    assert result.code == 0, result.err
    assert result.out.strip() == f"audit chain intact: {events} events"


def test_audit_verify_names_the_first_broken_event(db: Database, actor: Actor,
                                                   cli: Any) -> None:
    make_account(db, actor)
    with db.engine.begin() as conn:
        conn.execute(text("UPDATE audit_events SET actor = 'user:nobody' WHERE id = 3"))
    result = cli("audit", "verify")
    assert result.code == 6
    assert result.err.strip() == ("satellite: error: audit chain broken at event 3: its content "
                                  "does not match its hash (2 events before it are intact)")


def test_audit_list_filters_newest_first(db: Database, actor: Actor, cli: Any) -> None:
    make_account(db, actor)
    make_account(db, actor, "Other", "other.example.com", vas=())
    result = cli("audit", "list", "--account", "Acme", "--json")
    assert result.code == 0, result.err
    events = json.loads(result.out)["events"]
    assert [e["action"] for e in events] == ["va.create", "va.create", "account.create"]
    assert events[-1]["details"] == {"domain": "acme.example.com", "name": "Acme",
                                     "status": "ACTIVE", "created_by": "cli:tester"}
    assert events[-1]["actor"] == "cli:tester"
    assert len(events[0]["hash"]) == 64
    limited = cli("audit", "list", "--action", "account.", "--limit", "1")
    assert limited.out.count("\n") == 1 and "account.create\taccount:other.example.com" in (
        limited.out)
    assert cli("audit", "list", "--account", "nobody").code == 3

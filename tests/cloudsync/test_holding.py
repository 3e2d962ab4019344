"""Lines of the partner holding account: they count nowhere until deposited, and a deposit
survives every later snapshot without vanishing or counting twice."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from satellite.access.grants import grant
from satellite.accounts.models import VirtualAccount
from satellite.accounts.service import create_account, create_va
from satellite.actor import Actor
from satellite.audit.models import AuditEvent
from satellite.cloudsync.entitlements import SnapshotReport, apply_entitlements
from satellite.cloudsync.holding import deposit, list_holding
from satellite.cloudsync.models import OutboundEvent
from satellite.cloudsync.records import Entitlement
from satellite.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from satellite.licenses.counters import counter
from satellite.uow import Database
from satellite.users.service import create_user, get_user, user_actor
from tests.cloudsync.test_entitlements import pieces

TAG = "regid.2024-01.com.example.router-advantage"
DAY = date(2026, 3, 1)


def held(line_id: str = "H1", quantity: int = 10, **changes: Any) -> Entitlement:
    values: dict[str, Any] = {"account": "partner.example.com", "va": None, "tag": TAG,
                              "display_name": "Router Advantage", "license_type": "PERPETUAL",
                              "holding": "partner.example.com"}
    values.update(changes)
    return Entitlement(line_id=line_id, quantity=quantity, **values)


@pytest.fixture
def account(db: Database, actor: Actor) -> str:
    with db.uow() as uow:
        create_account(uow, actor, "ABC", "abc.xyz.com")
        create_va(uow, actor, "abc.xyz.com", "Lab")
        uow.commit()
    return "abc.xyz.com"


def apply(db: Database, actor: Actor, *lines: Entitlement) -> SnapshotReport:
    with db.uow() as uow:
        report = apply_entitlements(uow, actor, iter(lines))
        uow.commit()
    return report


def put(db: Database, actor: Actor, quantity: int | None = None, va: str = "Lab",
        line: str = "H1") -> dict[str, Any]:
    with db.uow() as uow:
        done = deposit(uow, actor, line, "abc.xyz.com", va, quantity)
        uow.commit()
    return done


def quantity_in(db: Database, va: str) -> int:
    with db.reader() as uow:
        va_id = uow.session.scalar(select(VirtualAccount.id).where(VirtualAccount.name == va))
        assert va_id is not None
        return counter(uow.session, va_id, TAG, DAY).quantity


def waiting(db: Database, actor: Actor) -> list[tuple[str, int, int]]:
    with db.reader() as uow:
        return [(r["lineId"], r["quantity"], r["available"])
                for r in list_holding(uow.session, actor)]


def test_holding_lines_count_nowhere_until_deposited(
        db: Database, actor: Actor, account: str) -> None:
    report = apply(db, actor, held("H1", 10))
    assert (report.in_holding, report.added, report.held) == (1, 0, 0)
    assert pieces(db) == []
    assert quantity_in(db, "Lab") == quantity_in(db, "Default") == 0
    assert waiting(db, actor) == [("H1", 10, 10)]

    done = put(db, actor, 4)
    assert (done["quantity"], done["left"]) == (4, 6)
    assert quantity_in(db, "Lab") == 4
    assert waiting(db, actor) == [("H1", 10, 6)]
    with db.reader() as uow:
        event = uow.session.scalar(select(AuditEvent).where(AuditEvent.action == "holding.deposit"))
        assert event is not None and '"to": "abc.xyz.com/Lab"' in event.details
        logged = uow.session.scalar(select(OutboundEvent).where(OutboundEvent.kind == "deposit"))
        assert logged is not None and '"quantity":4' in logged.payload.replace(" ", "")


def test_a_deposit_keeps_its_quantity_on_the_next_snapshots(
        db: Database, actor: Actor, account: str) -> None:
    apply(db, actor, held("H1", 10))
    put(db, actor, 4)
    put(db, actor, 2, va="Default")
    for _ in range(2):
        report = apply(db, actor, held("H1", 10))
        assert (report.removed, report.added, report.in_holding) == (0, 0, 1)
        assert pieces(db) == [("Default", "H1", 2), ("Lab", "H1", 4)]
        assert waiting(db, actor) == [("H1", 10, 4)]
    # Central lowers the line below what was deposited: the newest deposit gives back first.
    apply(db, actor, held("H1", 5))
    assert pieces(db) == [("Default", "H1", 1), ("Lab", "H1", 4)]
    assert waiting(db, actor) == [("H1", 5, 0)]
    with pytest.raises(Conflict, match="nothing left"):
        put(db, actor, 1)


def test_a_line_central_then_sends_to_the_account_is_not_counted_twice(
        db: Database, actor: Actor, account: str) -> None:
    apply(db, actor, held("H1", 10))
    put(db, actor, 10)
    report = apply(db, actor, held("H1", 10, account="abc.xyz.com", holding=None))
    assert report.in_holding == 0
    # The deposit is where it was first placed: Central's whole quantity, once.
    assert pieces(db) == [("Lab", "H1", 10)]
    assert waiting(db, actor) == []


def test_a_line_central_cancels_goes_with_its_deposits(
        db: Database, actor: Actor, account: str) -> None:
    apply(db, actor, held("H1", 10), held("H2", 3))
    put(db, actor, 5)
    report = apply(db, actor, held("H2", 3))
    assert report.removed == 1
    assert pieces(db) == []
    assert waiting(db, actor) == [("H2", 3, 3)]


def test_more_than_is_left_or_an_unknown_line_is_refused(
        db: Database, actor: Actor, account: str) -> None:
    apply(db, actor, held("H1", 3))
    with pytest.raises(Conflict, match="has 3 left"):
        put(db, actor, 4)
    with pytest.raises(NotFound, match="no line"):
        put(db, actor, line="H9")
    assert pieces(db) == []


def test_only_administrators_of_the_target_account_deposit(
        db: Database, actor: Actor, account: str) -> None:
    with db.uow() as uow:
        create_account(uow, actor, "Other", "other.example.com")
        create_user(uow, actor, "ada", "a long enough password 1")
        grant(uow, actor, "ada", "account_admin", "other.example.com")
        create_user(uow, actor, "vic", "a long enough password 1")
        grant(uow, actor, "vic", "va_admin", "abc.xyz.com", "Lab")
        uow.commit()
    apply(db, actor, held("H1", 3))
    with db.reader() as uow:
        ada = user_actor(get_user(uow.session, "ada"))
        vic = user_actor(get_user(uow.session, "vic"))
    # An account administrator sees the holding account but deposits only into its account.
    assert waiting(db, ada) == [("H1", 3, 3)]
    with pytest.raises(NotFound):
        put(db, ada, 1)
    with pytest.raises(PermissionDenied):
        waiting(db, vic)
    with pytest.raises(PermissionDenied):
        put(db, vic, 1)
    with db.uow() as uow:
        deposit(uow, ada, "H1", "other.example.com", "Default", 1)
        uow.commit()
    assert waiting(db, actor) == [("H1", 3, 2)]


def test_records_without_the_holding_field_read_as_before_and_with_it_round_trip() -> None:
    plain = held(holding=None).to_record()
    assert "holding" not in plain  # what older satellites read, byte for byte
    assert Entitlement.from_record(plain, 1).holding is None
    assert Entitlement.from_record(held().to_record(), 1) == held()
    for bad in (1, "", " "):
        with pytest.raises(InvalidInput):
            Entitlement.from_record({**held().to_record(), "holding": bad}, 1)

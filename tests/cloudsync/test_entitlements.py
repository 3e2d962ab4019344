from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import select

from satellite.accounts.models import VirtualAccount
from satellite.accounts.service import create_account, create_va
from satellite.actor import Actor
from satellite.cloudsync.entitlements import SnapshotReport, apply_entitlements
from satellite.cloudsync.records import Entitlement
from satellite.errors import InvalidInput
from satellite.licenses.models import LicenseLine
from satellite.uow import Database

TAG = "regid.2024-01.com.example.router-advantage"


def line(line_id: str = "L1", quantity: int = 10, **changes: Any) -> Entitlement:
    values: dict[str, Any] = {"account": "abc.xyz.com", "va": "Lab", "tag": TAG,
                              "display_name": "Router Advantage", "license_type": "PERPETUAL"}
    values.update(changes)
    return Entitlement(line_id=line_id, quantity=quantity, **values)


@pytest.fixture
def account(db: Database, actor: Actor) -> str:
    with db.uow() as uow:
        create_account(uow, actor, "ABC", "abc.xyz.com")
        uow.commit()
    return "abc.xyz.com"


def apply(db: Database, actor: Actor, *lines: Entitlement) -> SnapshotReport:
    with db.uow() as uow:
        report = apply_entitlements(uow, actor, iter(lines))
        uow.commit()
    return report


def pieces(db: Database) -> list[tuple[str, str, int]]:
    """(VA name, origin id, quantity) of every local line."""
    with db.reader() as uow:
        rows = uow.session.execute(
            select(VirtualAccount.name, LicenseLine.origin_id, LicenseLine.quantity)
            .join(VirtualAccount, VirtualAccount.id == LicenseLine.va_id)
            .order_by(LicenseLine.origin_id, VirtualAccount.name))
        return [(r[0], r[1], r[2]) for r in rows]


def move(db: Database, origin: str, from_va: str, to_va: str, quantity: int) -> None:
    """What a transfer does to pieces: split quantity off into another VA, keeping the origin."""
    with db.uow() as uow:
        s = uow.session
        source = s.scalar(
            select(LicenseLine).join(VirtualAccount, VirtualAccount.id == LicenseLine.va_id)
            .where(LicenseLine.origin_id == origin, VirtualAccount.name == from_va))
        target = s.scalar(select(VirtualAccount).where(VirtualAccount.name == to_va))
        assert source is not None and target is not None
        source.quantity -= quantity
        s.add(LicenseLine(va_id=target.id, tag=source.tag, display_name=source.display_name,
                          license_type=source.license_type, quantity=quantity,
                          start_date=source.start_date, end_date=source.end_date,
                          subscription_id=source.subscription_id,
                          export_controlled=source.export_controlled, origin_id=origin))
        uow.commit()


def test_lines_land_in_the_named_va_created_at_the_top_else_in_default(
        db: Database, actor: Actor, account: str) -> None:
    report = apply(db, actor, line("L1"), line("L2", 4, va=None),
                   line("L3", 2, account="elsewhere.example.com"))
    assert (report.added, report.held, report.removed) == (2, 1, 0)
    assert report.held_accounts == {"elsewhere.example.com"}
    assert report.created_vas == ["abc.xyz.com/Lab"]
    assert pieces(db) == [("Lab", "L1", 10), ("Default", "L2", 4)]
    with db.reader() as uow:
        lab = uow.session.scalar(select(VirtualAccount).where(VirtualAccount.name == "Lab"))
        assert lab is not None and lab.parent_id is None and lab.depth == 1


def test_an_existing_nested_va_is_used_as_it_is(db: Database, actor: Actor, account: str) -> None:
    with db.uow() as uow:
        create_va(uow, actor, account, "Site")
        create_va(uow, actor, account, "Lab", parent="Site")
        uow.commit()
    report = apply(db, actor, line("L1"))
    assert report.created_vas == []
    assert pieces(db) == [("Lab", "L1", 10)]


def test_the_same_snapshot_twice_changes_nothing(db: Database, actor: Actor, account: str) -> None:
    apply(db, actor, line("L1"))
    report = apply(db, actor, line("L1"))
    assert (report.added, report.updated, report.unchanged) == (0, 0, 1)
    assert pieces(db) == [("Lab", "L1", 10)]


def test_lines_central_no_longer_lists_disappear_with_every_piece(
        db: Database, actor: Actor, account: str) -> None:
    apply(db, actor, line("L1"), line("L2", 3))
    with db.uow() as uow:
        create_va(uow, actor, account, "Other")
        uow.commit()
    move(db, "L1", "Lab", "Other", 4)
    report = apply(db, actor, line("L2", 3))
    assert report.removed == 1
    assert pieces(db) == [("Lab", "L2", 3)]


def test_growth_goes_to_the_home_piece_and_moved_pieces_stay(
        db: Database, actor: Actor, account: str) -> None:
    apply(db, actor, line("L1", 10))
    with db.uow() as uow:
        create_va(uow, actor, account, "Other")
        uow.commit()
    move(db, "L1", "Lab", "Other", 4)
    report = apply(db, actor, line("L1", 15))
    assert report.updated == 1
    assert pieces(db) == [("Lab", "L1", 11), ("Other", "L1", 4)]


def test_shrinking_below_what_was_moved_takes_it_back_from_the_moved_pieces(
        db: Database, actor: Actor, account: str) -> None:
    apply(db, actor, line("L1", 10))
    with db.uow() as uow:
        create_va(uow, actor, account, "A")
        create_va(uow, actor, account, "B")
        uow.commit()
    move(db, "L1", "Lab", "A", 3)
    move(db, "L1", "Lab", "B", 4)
    apply(db, actor, line("L1", 5))
    # Home (3 left) is emptied, then the newest moved piece (B) gives back 2.
    assert pieces(db) == [("A", "L1", 3), ("B", "L1", 2)]
    apply(db, actor, line("L1", 2))
    assert pieces(db) == [("A", "L1", 2)]
    assert sum(q for _, _, q in pieces(db)) == 2


def test_central_changes_to_a_line_reach_every_piece(
        db: Database, actor: Actor, account: str) -> None:
    apply(db, actor, line("L1", 10))
    with db.uow() as uow:
        create_va(uow, actor, account, "Other")
        uow.commit()
    move(db, "L1", "Lab", "Other", 4)
    apply(db, actor, line("L1", 10, license_type="TERM", start_date=date(2026, 1, 1),
                      end_date=date(2027, 1, 1), export_controlled=True))
    with db.reader() as uow:
        lines = [(ln.license_type, ln.start_date, ln.end_date, ln.export_controlled)
                 for ln in uow.session.scalars(select(LicenseLine))]
    assert lines == [("TERM", date(2026, 1, 1), date(2027, 1, 1), True)] * 2


def test_a_line_listed_twice_is_refused(db: Database, actor: Actor, account: str) -> None:
    with pytest.raises(InvalidInput, match="listed twice"), db.uow() as uow:
        apply_entitlements(uow, actor, iter([line("L1"), line("L1")]))


def test_a_va_name_the_site_cannot_use_is_refused_naming_the_line(
        db: Database, actor: Actor, account: str) -> None:
    message = r"entitlement line L9: .*contains '/'"
    with pytest.raises(InvalidInput, match=message), db.uow() as uow:
        apply_entitlements(uow, actor, iter([line("L9", va="Lab/1")]))

"""Deposit rules: lines that name no VA go where the account's first matching rule says, once."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from satellite.access.grants import grant
from satellite.accounts.removal import delete_va
from satellite.accounts.service import create_account, create_va
from satellite.actor import Actor
from satellite.cloudsync.entitlements import SnapshotReport, apply_entitlements
from satellite.cloudsync.records import Entitlement
from satellite.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from satellite.licenses.deposit_rules import add_rule, list_rules, matches, move_rule, remove_rule
from satellite.uow import Database
from satellite.users.service import create_user, get_user, user_actor
from tests.cloudsync.test_entitlements import pieces

ROUTER = "regid.2024-01.com.example.router-advantage"
SWITCH = "regid.2024-01.com.example.switch-essentials"
DOMAIN = "abc.xyz.com"


def line(line_id: str, tag: str = ROUTER, va: str | None = None, quantity: int = 5,
         **changes: Any) -> Entitlement:
    values: dict[str, Any] = {"account": DOMAIN, "display_name": "Router Advantage",
                              "license_type": "PERPETUAL"}
    values.update(changes)
    return Entitlement(line_id=line_id, tag=tag, va=va, quantity=quantity, **values)


@pytest.fixture
def account(db: Database, actor: Actor) -> str:
    with db.uow() as uow:
        create_account(uow, actor, "ABC", DOMAIN)
        for name in ("Routers", "Lab", "Spare"):
            create_va(uow, actor, DOMAIN, name)
        uow.commit()
    return DOMAIN


def apply(db: Database, actor: Actor, *lines: Entitlement) -> SnapshotReport:
    with db.uow() as uow:
        report = apply_entitlements(uow, actor, iter(lines))
        uow.commit()
    return report


def rule(db: Database, actor: Actor, match: str, pattern: str, va: str,
         position: int | None = None) -> int:
    with db.uow() as uow:
        added = add_rule(uow, actor, DOMAIN, match, pattern, va, position)
        uow.commit()
    return int(added["id"])


def rules(db: Database, actor: Actor) -> list[tuple[int, str, str]]:
    with db.reader() as uow:
        return [(r["position"], r["pattern"], r["virtualAccount"])
                for r in list_rules(uow.session, actor, DOMAIN)[1]]


def test_rules_are_tried_in_order_and_the_first_match_wins(
        db: Database, actor: Actor, account: str) -> None:
    rule(db, actor, "tag", "regid.2024-01.com.example.*", "Lab")
    rule(db, actor, "tag", ROUTER, "Routers", position=1)
    rule(db, actor, "name", "switch*", "Spare")
    report = apply(db, actor, line("L1"), line("L2", SWITCH, display_name="Switch Essentials"),
                   line("L3", "regid.other.thing", display_name="Other"))
    assert pieces(db) == [("Routers", "L1", 5), ("Lab", "L2", 5), ("Default", "L3", 5)]
    decided = {p.line_id: (p.va, p.rule) for p in report.placements}
    assert decided["L1"][0] == "Routers" and "tag " + ROUTER in str(decided["L1"][1])
    assert decided["L2"][0] == "Lab" and decided["L3"] == ("Default", None)
    assert report.summary()["placed_by_rules"] == 2


def test_a_line_naming_its_va_ignores_the_rules(db: Database, actor: Actor, account: str) -> None:
    rule(db, actor, "tag", ROUTER, "Routers")
    report = apply(db, actor, line("L1", va="Spare"))
    assert pieces(db) == [("Spare", "L1", 5)]
    assert report.placements == []


def test_rules_place_a_line_once_and_it_stays_put(
        db: Database, actor: Actor, account: str) -> None:
    apply(db, actor, line("L0"))  # before any rule: Default, and there it stays
    first = rule(db, actor, "tag", ROUTER, "Routers")
    apply(db, actor, line("L0"), line("L1"))
    assert pieces(db) == [("Default", "L0", 5), ("Routers", "L1", 5)]
    # The rule changes: placed lines stay, and grow where they are.
    with db.uow() as uow:
        remove_rule(uow, actor, DOMAIN, first)
        add_rule(uow, actor, DOMAIN, "tag", ROUTER, "Lab")
        uow.commit()
    report = apply(db, actor, line("L0", quantity=7), line("L1", quantity=8), line("L2"))
    assert pieces(db) == [("Default", "L0", 7), ("Routers", "L1", 8), ("Lab", "L2", 5)]
    assert [p.line_id for p in report.placements] == ["L2"]
    # Central names a VA later: that VA is the line's home from then on (what was placed
    # stays, as transferred pieces do), whatever the rules say.
    apply(db, actor, line("L1", va="Spare", quantity=10))
    assert [p for p in pieces(db) if p[1] == "L1"] == [("Routers", "L1", 8), ("Spare", "L1", 2)]


def test_rules_are_kept_in_order_moved_and_removed(
        db: Database, actor: Actor, account: str) -> None:
    a = rule(db, actor, "tag", "a*", "Lab")
    b = rule(db, actor, "tag", "b*", "Spare")
    rule(db, actor, "tag", "c*", "Routers")
    with db.uow() as uow:
        move_rule(uow, actor, DOMAIN, b, 1)
        uow.commit()
    assert rules(db, actor) == [(1, "b*", "Spare"), (2, "a*", "Lab"), (3, "c*", "Routers")]
    with db.uow() as uow:
        remove_rule(uow, actor, DOMAIN, a)
        uow.commit()
    assert rules(db, actor) == [(1, "b*", "Spare"), (2, "c*", "Routers")]
    with pytest.raises(NotFound), db.uow() as uow:
        remove_rule(uow, actor, DOMAIN, a)
    with pytest.raises(InvalidInput, match="position"), db.uow() as uow:
        move_rule(uow, actor, DOMAIN, b, 9)
    with pytest.raises(InvalidInput, match="tag or name"), db.uow() as uow:
        add_rule(uow, actor, DOMAIN, "sku", "x", "Lab")
    with pytest.raises(NotFound), db.uow() as uow:
        add_rule(uow, actor, DOMAIN, "tag", "x", "Nowhere")


def test_a_va_a_rule_sends_lines_to_cannot_be_deleted(
        db: Database, actor: Actor, account: str) -> None:
    rule(db, actor, "tag", ROUTER, "Spare")
    with pytest.raises(Conflict, match="deposit rules"), db.uow() as uow:
        delete_va(uow, actor, DOMAIN, "Spare")


def test_only_account_administrators_see_or_change_rules(
        db: Database, actor: Actor, account: str) -> None:
    with db.uow() as uow:
        create_user(uow, actor, "ada", "a long enough password 1")
        grant(uow, actor, "ada", "account_admin", DOMAIN)
        create_user(uow, actor, "uma", "a long enough password 1")
        grant(uow, actor, "uma", "account_user", DOMAIN)
        uow.commit()
    with db.reader() as uow:
        ada = user_actor(get_user(uow.session, "ada"))
        uma = user_actor(get_user(uow.session, "uma"))
    rule(db, ada, "tag", ROUTER, "Lab")
    with pytest.raises(PermissionDenied):
        rule(db, uma, "tag", SWITCH, "Lab")
    with pytest.raises(PermissionDenied):
        rules(db, uma)
    assert rules(db, ada) == [(1, ROUTER, "Lab")]


_TEXT = st.text(st.characters(min_codepoint=33, max_codepoint=126, exclude_characters="*?[]"),
                min_size=1, max_size=20)


@given(tag=_TEXT, extra=_TEXT)
def test_a_pattern_without_wildcards_matches_its_tag_only(tag: str, extra: str) -> None:
    assert matches("tag", tag, tag, "")
    assert not matches("tag", tag, tag + extra, "")
    assert matches("tag", tag + "*", tag + extra, "")
    assert matches("name", tag.upper() + "*", "", tag.lower() + extra)

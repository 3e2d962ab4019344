from __future__ import annotations

import json
from datetime import date

import pytest

from satellite.actor import Actor
from satellite.audit.service import count_events, list_events
from satellite.errors import Conflict, InvalidInput, NotFound
from satellite.licenses.transfers import transfer, transfer_between_accounts
from satellite.licenses.usage import set_usage
from satellite.uow import Database
from tests.licenses.helpers import ROUTER, SWITCH, add_line, lines_of, make_account

JAN, DEC = date(2026, 1, 1), date(2026, 12, 31)


def move(db: Database, actor: Actor, source: str, target: str, quantity: int,
         tag: str = ROUTER) -> None:
    with db.uow() as uow:
        transfer(uow, actor, "Acme", source, target, tag, quantity)
        uow.commit()


def test_a_transfer_keeps_type_dates_subscription_and_origin(db: Database, actor: Actor) -> None:
    vas = make_account(db, actor)
    add_line(db, vas["Lab"], ROUTER, 10, "TERM", JAN, DEC, origin="order-7",
             subscription_id="Sub-7")
    move(db, actor, "Lab", "Ops", 3)
    assert lines_of(db, vas["Ops"], ROUTER) == [("order-7", 3, "TERM", JAN, DEC, "Sub-7")]
    assert lines_of(db, vas["Lab"], ROUTER) == [("order-7", 7, "TERM", JAN, DEC, "Sub-7")]
    move(db, actor, "Lab", "Ops", 7)
    assert lines_of(db, vas["Ops"], ROUTER) == [("order-7", 10, "TERM", JAN, DEC, "Sub-7")]
    assert lines_of(db, vas["Lab"], ROUTER) == []
    move(db, actor, "Ops", "Lab", 4)
    assert lines_of(db, vas["Lab"], ROUTER) == [("order-7", 4, "TERM", JAN, DEC, "Sub-7")]


def test_longest_lasting_lines_move_first(db: Database, actor: Actor) -> None:
    vas = make_account(db, actor)
    add_line(db, vas["Lab"], ROUTER, 2, "TERM", JAN, date(2026, 6, 30), origin="short")
    add_line(db, vas["Lab"], ROUTER, 2, "TERM", JAN, DEC, origin="long")
    add_line(db, vas["Lab"], ROUTER, 1, "PERPETUAL", origin="forever")
    move(db, actor, "Lab", "Ops", 4)
    assert [(o, n) for o, n, *_ in lines_of(db, vas["Ops"], ROUTER)] == [
        ("forever", 1), ("long", 2), ("short", 1)]
    assert [(o, n) for o, n, *_ in lines_of(db, vas["Lab"], ROUTER)] == [("short", 1)]


def test_lines_outside_their_dates_are_neither_free_nor_moved(db: Database,
                                                               actor: Actor) -> None:
    vas = make_account(db, actor)
    add_line(db, vas["Lab"], ROUTER, 5, "TERM", date(2025, 1, 1), date(2025, 12, 31),
             origin="expired")
    add_line(db, vas["Lab"], ROUTER, 5, "TERM", date(2026, 6, 1), DEC, origin="future")
    add_line(db, vas["Lab"], ROUTER, 2, origin="now")
    with pytest.raises(Conflict, match=r"has 2 of .* free as of 2026-03-01"):
        move(db, actor, "Lab", "Ops", 3)
    move(db, actor, "Lab", "Ops", 2)
    assert [o for o, *_ in lines_of(db, vas["Lab"], ROUTER)] == ["expired", "future"]


def test_a_transfer_is_audited_with_before_and_after(db: Database, actor: Actor) -> None:
    vas = make_account(db, actor)
    add_line(db, vas["Lab"], ROUTER, 10)
    add_line(db, vas["Ops"], ROUTER, 1, origin="order-9")
    move(db, actor, "Lab", "Ops", 4)
    with db.reader() as uow:
        event = list_events(uow.session, action="license.transfer")[0]
        assert event.actor == "cli:tester"
        assert (event.action, event.target) == ("license.transfer", f"license:{ROUTER}")
        details = json.loads(event.details)
    assert details["before"] == {"from": {"quantity": 10, "available": 10},
                                 "to": {"quantity": 1, "available": 1}}
    assert details["after"] == {"from": {"quantity": 6, "available": 6},
                                "to": {"quantity": 5, "available": 5}}
    assert details["pieces"] == [{"origin_id": "order-1", "quantity": 4}]


@pytest.mark.parametrize("source, target, tag, quantity, error, message", [
    ("Lab", "Lab", ROUTER, 1, InvalidInput, "to itself"),
    ("Lab", "Ops", ROUTER, 0, InvalidInput, "at least 1"),
    ("Lab", "Ops", ROUTER, -2, InvalidInput, "at least 1"),
    ("Lab", "Ops", SWITCH, 1, NotFound, "has no license"),
    ("Lab", "Nowhere", ROUTER, 1, NotFound, "no virtual account named 'Nowhere'"),
    ("Lab", "Ops", ROUTER, 5, Conflict, r"has 4 of .* free .*in use 2, reserved 1\); "
                                        r"cannot transfer 5"),
])
def test_refused_transfers_change_nothing(db: Database, actor: Actor, source: str, target: str,
                                          tag: str, quantity: int, error: type[Exception],
                                          message: str) -> None:
    vas = make_account(db, actor)
    add_line(db, vas["Lab"], ROUTER, 7)
    with db.uow() as uow:
        set_usage(uow.session, "device:1", "in_use", {(vas["Lab"], ROUTER): 2})
        set_usage(uow.session, "reservation:1", "reserved", {(vas["Lab"], ROUTER): 1})
        uow.commit()
    with db.reader() as uow:
        events = count_events(uow.session)
    with pytest.raises(error, match=message):
        move(db, actor, source, target, quantity, tag)
    assert lines_of(db, vas["Lab"], ROUTER) == [("order-1", 7, "PERPETUAL", None, None, "")]
    assert lines_of(db, vas["Ops"], ROUTER) == []
    with db.reader() as uow:
        assert count_events(uow.session) == events


def test_a_va_of_another_account_is_reached_only_by_a_transfer_between_accounts(
        db: Database, actor: Actor) -> None:
    vas = make_account(db, actor)
    other = make_account(db, actor, "Other", "other.example.com", vas=("Spare",))
    add_line(db, vas["Lab"], ROUTER, 5, "TERM", JAN, DEC)
    with pytest.raises(NotFound, match="no virtual account named 'Spare'"):
        move(db, actor, "Lab", "Spare", 1)
    with db.uow() as uow, pytest.raises(InvalidInput, match="transfer within the account"):
        transfer_between_accounts(uow, actor, "Acme", "Lab", "acme.example.com", "Ops", ROUTER, 1)
    with db.uow() as uow:
        done = transfer_between_accounts(uow, actor, "Acme", "Lab", "other.example.com",
                                         "Spare", ROUTER, 2)
        uow.commit()
    assert (done.source_after.quantity, done.target_after.quantity) == (3, 2)
    assert lines_of(db, other["Spare"], ROUTER) == [("order-1", 2, "TERM", JAN, DEC, "")]
    with db.reader() as uow:
        event = list_events(uow.session, action="license.transfer_account")[0]
        assert event.action == "license.transfer_account"
        assert json.loads(event.details)["to"] == "other.example.com/Spare"

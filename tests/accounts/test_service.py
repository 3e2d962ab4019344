from __future__ import annotations

import pytest
from sqlalchemy import select

from satellite.accounts import removal, service
from satellite.accounts.models import MAX_VA_DEPTH, VirtualAccount
from satellite.actor import Actor
from satellite.audit.models import AuditEvent
from satellite.errors import Conflict, InvalidInput, NotFound
from satellite.uow import Database


def _account(db: Database, actor: Actor, name: str = "Acme", domain: str = "acme.example.com") -> None:
    with db.uow() as uow:
        service.create_account(uow, actor, name, domain)
        uow.commit()


def test_account_gets_a_default_va_and_is_found_by_name_or_domain(db: Database, actor: Actor) -> None:
    _account(db, actor)
    with db.reader() as uow:
        by_name = service.get_account(uow.session, "Acme")
        by_domain = service.get_account(uow.session, "ACME.example.com")
        assert by_name.id == by_domain.id
        names = [va.name for va in service.list_vas(uow.session, actor, "Acme")[1]]
    assert names == ["Default"]


@pytest.mark.parametrize(("name", "domain", "message"), [
    ("Acme", "other.example.com", "name"),
    ("Other", "acme.example.com", "domain"),
])
def test_duplicate_account_is_refused(db: Database, actor: Actor, name: str, domain: str,
                                      message: str) -> None:
    _account(db, actor)
    with db.uow() as uow, pytest.raises(Conflict, match=message):
        service.create_account(uow, actor, name, domain)


@pytest.mark.parametrize("domain", ["", "nodots", "bad_domain.com", "-x.com", "a..b.com"])
def test_bad_domain_is_refused(db: Database, actor: Actor, domain: str) -> None:
    with db.uow() as uow, pytest.raises(InvalidInput, match="domain"):
        service.create_account(uow, actor, "Acme", domain)


def test_vas_nest_at_most_ten_levels(db: Database, actor: Actor) -> None:
    _account(db, actor)
    with db.uow() as uow:
        parent = None
        for level in range(1, MAX_VA_DEPTH + 1):
            service.create_va(uow, actor, "Acme", f"L{level}", parent=parent)
            parent = f"L{level}"
        with pytest.raises(InvalidInput, match="at most 10 levels"):
            service.create_va(uow, actor, "Acme", "L11", parent=parent)
        uow.commit()


def test_move_refuses_cycles_and_depth_overflow(db: Database, actor: Actor) -> None:
    _account(db, actor)
    with db.uow() as uow:
        service.create_va(uow, actor, "Acme", "A")
        service.create_va(uow, actor, "Acme", "B", parent="A")
        service.create_va(uow, actor, "Acme", "C", parent="B")
        with pytest.raises(InvalidInput, match="inside 'A'"):
            service.move_va(uow, actor, "Acme", "A", "C")
        parent = None
        for level in range(1, 9):
            service.create_va(uow, actor, "Acme", f"D{level}", parent=parent)
            parent = f"D{level}"
        # A's subtree is three deep; under D8 (level 8) it would reach level 11.
        with pytest.raises(InvalidInput, match="11 levels"):
            service.move_va(uow, actor, "Acme", "A", "D8")
        service.move_va(uow, actor, "Acme", "A", "D7")
        uow.commit()
    with db.reader() as uow:
        depths = {va.name: va.depth for va in uow.session.scalars(select(VirtualAccount))}
    assert (depths["A"], depths["B"], depths["C"]) == (8, 9, 10)


def test_delete_says_what_is_left(db: Database, actor: Actor) -> None:
    _account(db, actor)
    with db.uow() as uow:
        service.create_va(uow, actor, "Acme", "Lab")
        service.create_va(uow, actor, "Acme", "Sub", parent="Lab")
        uow.commit()
    with db.uow() as uow, pytest.raises(Conflict, match="1 child virtual accounts"):
        removal.delete_va(uow, actor, "Acme", "Lab")
    with db.uow() as uow:
        removal.delete_va(uow, actor, "Acme", "Sub")
        removal.delete_va(uow, actor, "Acme", "Lab")
        uow.commit()
    with db.uow() as uow, pytest.raises(Conflict, match="Default"):
        removal.delete_va(uow, actor, "Acme", "Default")
    with db.uow() as uow, pytest.raises(NotFound):
        removal.delete_va(uow, actor, "Acme", "Lab")


def test_rename_keeps_names_unique(db: Database, actor: Actor) -> None:
    _account(db, actor)
    with db.uow() as uow:
        service.create_va(uow, actor, "Acme", "Lab")
        service.create_va(uow, actor, "Acme", "Plant")
        with pytest.raises(Conflict):
            service.rename_va(uow, actor, "Acme", "Lab", "Plant")
        service.rename_va(uow, actor, "Acme", "Lab", "Lab 2")
        uow.commit()
    with db.reader() as uow:
        assert service.get_va(uow.session, service.get_account(uow.session, "Acme"), "Lab 2")


def test_every_change_is_audited_and_a_failed_one_is_not(db: Database, actor: Actor) -> None:
    _account(db, actor)
    with db.uow() as uow, pytest.raises(Conflict):
        service.create_account(uow, actor, "Acme", "acme.example.com")
    with db.reader() as uow:
        actions = list(uow.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
    assert actions[-1] == "account.create"
    assert actions.count("account.create") == 1

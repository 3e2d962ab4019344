"""Accounts are Pending until their approver activates them; Central's lines wait meanwhile."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from satellite.access import requests
from satellite.access.models import AccountRequest
from satellite.accounts.models import ACTIVE, PENDING, Account, VirtualAccount
from satellite.accounts.service import create_account, create_va, get_account
from satellite.actor import Actor
from satellite.alerts.models import Alert
from satellite.audit.service import list_events
from satellite.cloudsync.entitlements import SnapshotReport, apply_entitlements
from satellite.cloudsync.held import held_lines
from satellite.cloudsync.records import Entitlement
from satellite.errors import Conflict, NotFound, PermissionDenied
from satellite.licenses.models import LicenseLine
from satellite.licenses.transfers import transfer
from satellite.permissions.policy import ACCOUNT_ADMIN
from satellite.reservation import codes
from satellite.reservation import service as reservations
from satellite.tokens.secrets import TokenSealer
from satellite.tokens.service import create_token
from satellite.uow import Database
from satellite.users.service import create_user, user_actor
from tests.devices.fixtures import sealer
from tests.reservation.certify import certified_signer

__all__ = ["sealer"]

TAG = "regid.2024-01.com.example.router-advantage"


def line(line_id: str, quantity: int = 10, account: str = "new.acme.example",
         **changes: Any) -> Entitlement:
    values: dict[str, Any] = {"va": "Lab", "tag": TAG, "display_name": "Router Advantage",
                              "license_type": "PERPETUAL"}
    values.update(changes)
    return Entitlement(line_id=line_id, account=account, quantity=quantity, **values)


def snapshot(db: Database, actor: Actor, *lines: Entitlement) -> SnapshotReport:
    with db.uow() as uow:
        report = apply_entitlements(uow, actor, iter(lines))
        uow.commit()
    return report


def pools(db: Database) -> list[tuple[str, str, str, int]]:
    """(account domain, VA, Central line, quantity) of every local line."""
    with db.reader() as uow:
        rows = uow.session.execute(
            select(Account.domain, VirtualAccount.name, LicenseLine.origin_id,
                   LicenseLine.quantity)
            .join(VirtualAccount, VirtualAccount.id == LicenseLine.va_id)
            .join(Account, Account.id == VirtualAccount.account_id)
            .order_by(LicenseLine.origin_id))
        return [(r[0], r[1], r[2], r[3]) for r in rows]


def held(db: Database, actor: Actor, account: str | None = None) -> list[tuple[str, str, int]]:
    with db.reader() as uow:
        rows = held_lines(uow.session, actor, account, None)[1]
        return [(r.domain, r.line_id, r.quantity) for r in rows]


def user(db: Database, actor: Actor, name: str) -> Actor:
    with db.uow() as uow:
        made = create_user(uow, actor, name, "violet-kestrel-42-river")
        uow.commit()
        return user_actor(made)


def make_admin(db: Database, actor: Actor, who: str, account: str) -> None:
    from satellite.access.grants import grant

    with db.uow() as uow:
        grant(uow, actor, who, ACCOUNT_ADMIN, account)
        uow.commit()


def test_lines_for_an_unknown_domain_are_held_then_delivered_when_the_account_is_created(
        db: Database, actor: Actor) -> None:
    report = snapshot(db, actor, line("L1"), line("L2", 4, va=None))
    assert (report.added, report.held, report.held_accounts) == (0, 2, {"new.acme.example"})
    assert pools(db) == []
    assert held(db, actor) == [("new.acme.example", "L1", 10), ("new.acme.example", "L2", 4)]
    with db.uow() as uow:
        create_account(uow, actor, "New", "new.acme.example")
        uow.commit()
    # Into the VA the line names (created as the import would), else Default.
    assert pools(db) == [("new.acme.example", "Lab", "L1", 10),
                         ("new.acme.example", "Default", "L2", 4)]
    assert held(db, actor) == []
    # The next snapshot finds them where delivery put them: nothing changes.
    again = snapshot(db, actor, line("L1"), line("L2", 4, va=None))
    assert (again.unchanged, again.added, again.held) == (2, 0, 0)


def test_a_pending_account_holds_its_lines_until_activated(db: Database, actor: Actor) -> None:
    with db.uow() as uow:
        account = create_account(uow, actor, "New", "new.acme.example", pending=True)
        uow.commit()
        assert account.status == PENDING and account.approved_by is None
    report = snapshot(db, actor, line("L1"), line("L9", 3, account="far.example.org"))
    assert (report.added, report.held) == (0, 2)
    assert pools(db) == []
    assert held(db, actor, "New") == [("new.acme.example", "L1", 10)]
    # The list of lines held for no account leaves out the Pending account's.
    assert held(db, actor) == [("far.example.org", "L9", 3)]
    with db.uow() as uow:
        requests.activate_account(uow, actor, "New")
        uow.commit()
    assert pools(db) == [("new.acme.example", "Lab", "L1", 10)]
    assert held(db, actor, "New") == []
    with db.reader() as uow:
        done = get_account(uow.session, "New")
        assert (done.status, done.approved_by) == (ACTIVE, actor.label)
        actions = [e.action for e in list_events(uow.session, action="account.", limit=10)]
    assert actions[:2] == ["account.activate", "account.deliver_held"]
    with db.uow() as uow, pytest.raises(Conflict, match="already Active"):
        requests.activate_account(uow, actor, "New")


def test_each_snapshot_changes_or_removes_held_lines(db: Database, actor: Actor) -> None:
    snapshot(db, actor, line("L1"), line("L2", 4))
    snapshot(db, actor, line("L1", 7, va="Spare"))
    assert held(db, actor) == [("new.acme.example", "L1", 7)]
    # A line held before goes to the account Central now names, once that one is Active.
    with db.uow() as uow:
        create_account(uow, actor, "Other", "other.example.org")
        uow.commit()
    report = snapshot(db, actor, line("L1", 7, account="other.example.org"))
    assert (report.added, report.held) == (1, 0)
    assert held(db, actor) == []
    assert pools(db) == [("other.example.org", "Lab", "L1", 7)]
    # And back: a delivered line Central now names for a domain with no account is held, and
    # leaves the pools (a held line counts nowhere).
    report = snapshot(db, actor, line("L1", 7, account="gone.example.org"))
    assert (report.held, report.removed) == (1, 1)
    assert pools(db) == []
    with db.uow() as uow:
        create_account(uow, actor, "New", "new.acme.example")
        uow.commit()
    assert pools(db) == []  # L2 left the snapshot before the account came


def test_a_request_goes_to_the_top_level_domain_and_its_approval_activates(
        db: Database, actor: Actor) -> None:
    with db.uow() as uow:
        create_account(uow, actor, "Acme", "acme.example")
        create_account(uow, actor, "Acme Lab", "lab.acme.example")
        uow.commit()
    top, lab, bob = (user(db, actor, n) for n in ("top", "labadmin", "bob"))
    make_admin(db, actor, "top", "Acme")
    make_admin(db, actor, "labadmin", "Acme Lab")
    snapshot(db, actor, line("L1", account="z.lab.acme.example"))
    with db.uow() as uow:
        asked = requests.request_account(uow, bob, "Zeta", "z.lab.acme.example")
        uow.commit()
        request_id = asked.id
    with db.reader() as uow:
        made = get_account(uow.session, "Zeta")
        assert (made.status, made.created_by, made.approved_by) == (PENDING, "user:bob", None)
        assert [r.id for r in requests.list_account_requests(uow.session, top)] == [request_id]
        assert requests.list_account_requests(uow.session, lab) == []
        alert = uow.session.scalar(select(Alert).where(Alert.kind == "request_pending"))
        assert alert is not None and alert.account_id == get_account(uow.session, "Acme").id
    assert held(db, actor, "Zeta") == [("z.lab.acme.example", "L1", 10)]
    # Bob has no role on it yet; the nearer parent's admins may not decide it.
    with db.reader() as uow, pytest.raises(NotFound):
        held_lines(uow.session, bob, "Zeta", None)
    with db.uow() as uow, pytest.raises(NotFound):
        requests.decide_account(uow, lab, request_id, approve=True)
    # Who decides sees the lines held for the domain asked for; the requester and the nearer
    # parent's admins do not (anyone may ask for any domain).
    with db.reader() as uow:
        req, rows, total = requests.requested_lines(uow.session, top, request_id, None)
        assert (req.domain, [r.line_id for r in rows], total) == ("z.lab.acme.example", ["L1"], 1)
        with pytest.raises(PermissionDenied, match="only whoever decides"):
            requests.requested_lines(uow.session, bob, request_id, None)
        with pytest.raises(NotFound):
            requests.requested_lines(uow.session, lab, request_id, None)
    with db.uow() as uow:
        create_va(uow, actor, "Zeta", "Side")
        with pytest.raises(Conflict, match="Pending"):
            transfer(uow, actor, "Zeta", "Default", "Side", TAG, 1)
    with db.uow() as uow:
        requests.decide_account(uow, top, request_id, approve=True)
        uow.commit()
    with db.reader() as uow:
        done = get_account(uow.session, "Zeta")
        assert (done.status, done.created_by, done.approved_by) == (ACTIVE, "user:bob", "user:top")
        assert requests.list_account_requests(uow.session, top)[0].status == "APPROVED"
    assert pools(db) == [("z.lab.acme.example", "Lab", "L1", 10)]
    # Bob administers the account now.
    with db.reader() as uow:
        assert held_lines(uow.session, bob, "Zeta", None)[2] == 0


def test_a_denied_request_removes_the_pending_account_and_its_lines_wait_again(
        db: Database, actor: Actor) -> None:
    bob = user(db, actor, "bob")
    snapshot(db, actor, line("L1"))
    with db.uow() as uow:
        request_id = requests.request_account(uow, bob, "New", "new.acme.example").id
        uow.commit()
    assert held(db, actor) == []  # held for the Pending account now
    with db.uow() as uow:
        requests.decide_account(uow, actor, request_id, approve=False)
        uow.commit()
    with db.reader() as uow:
        assert uow.session.scalar(select(Account).where(Account.name == "New")) is None
        assert uow.session.get(AccountRequest, request_id).status == "DENIED"  # type: ignore[union-attr]
    assert held(db, actor) == [("new.acme.example", "L1", 10)]
    # The name is free again, and the lines reach whoever creates it.
    with db.uow() as uow:
        create_account(uow, actor, "New", "new.acme.example")
        uow.commit()
    assert pools(db) == [("new.acme.example", "Lab", "L1", 10)]


def test_a_request_for_a_taken_domain_creates_nothing(db: Database, actor: Actor) -> None:
    with db.uow() as uow:
        create_account(uow, actor, "Acme", "acme.example")
        uow.commit()
    bob = user(db, actor, "bob")
    with db.uow() as uow:
        request_id = requests.request_account(uow, bob, "Again", "acme.example").id
        uow.commit()
    with db.uow() as uow, pytest.raises(Conflict, match="already exists"):
        requests.decide_account(uow, actor, request_id, approve=True)


def test_creator_and_approver_are_recorded(db: Database, actor: Actor) -> None:
    with db.uow() as uow:
        made = create_account(uow, actor, "Now", "now.example.org")
        uow.commit()
        assert (made.status, made.created_by, made.approved_by) == (ACTIVE, actor.label,
                                                                     actor.label)
        assert made.activated_at == uow.clock.now()


def test_a_pending_account_cannot_be_used(db: Database, actor: Actor,
                                          sealer: TokenSealer) -> None:
    with db.uow() as uow:
        create_account(uow, actor, "New", "new.acme.example", pending=True)
        uow.commit()
    with db.uow() as uow, pytest.raises(Conflict, match=r"Pending .* registration tokens"):
        create_token(uow, actor, sealer, "New", "Default")
    code = codes.RequestCode.for_device(bytes(32), codes.Udi("C9300", "S1"), bytes(8)).encode()
    with db.uow() as uow, pytest.raises(Conflict, match=r"Pending .* reservations"):
        reservations.authorize(uow, actor, "New", "Default", code, {TAG: 1},
                               certified_signer(uow.clock.now()))
    with db.uow() as uow:
        requests.activate_account(uow, actor, "New")
        uow.commit()
    with db.uow() as uow:
        assert create_token(uow, actor, sealer, "New", "Default").secret

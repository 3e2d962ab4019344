"""Sign-in with progressive delay and lockout, passwords, disabling, grants."""

from __future__ import annotations

from datetime import timedelta

import pytest

from satellite.access import grants
from satellite.actor import Actor
from satellite.audit.service import list_events
from satellite.clock import FixedClock
from satellite.errors import InvalidInput, NotFound, PermissionDenied, TooManyRequests, Unauthenticated
from satellite.permissions.policy import require
from satellite.uow import Database
from satellite.users import service as users
from satellite.users import throttle

PASSWORD = "violet-kestrel-42-river"


@pytest.fixture
def alice(db: Database, actor: Actor) -> None:
    with db.uow() as uow:
        users.create_user(uow, actor, "alice", PASSWORD)
        uow.commit()


def _login(db: Database, password: str) -> None:
    with db.uow() as uow:
        users.login(uow, "alice", password, source="127.0.0.1")
        uow.commit()


def test_failed_sign_ins_slow_down_then_lock_and_are_audited(
        db: Database, clock: FixedClock, alice: None) -> None:
    for _ in range(throttle.PAIR.free - 1):
        with pytest.raises(Unauthenticated):
            _login(db, "wrong password!!")
    with pytest.raises(Unauthenticated):
        _login(db, "wrong password!!")  # the third failure starts the delay
    with pytest.raises(TooManyRequests, match="try again in"):
        _login(db, PASSWORD)  # even the right password waits its turn
    clock.advance(timedelta(seconds=2))
    for _ in range(throttle.PAIR.lockout - throttle.PAIR.free):
        with pytest.raises(Unauthenticated):
            _login(db, "wrong password!!")
        clock.advance(timedelta(seconds=61))
    with pytest.raises(TooManyRequests):
        _login(db, PASSWORD)  # the lockout outlasts the longest delay
    clock.advance(throttle.LOCKOUT)
    _login(db, PASSWORD)
    with db.reader() as uow:
        failed = [e.actor for e in list_events(uow.session, action="user.login_failed")]
        ok = [e.action for e in list_events(uow.session, action="user.login")]
    assert failed == ["user:alice"] * throttle.PAIR.lockout
    assert ok.count("user.login") == 1


def test_unknown_user_and_disabled_user_cannot_sign_in(db: Database, actor: Actor,
                                                       alice: None) -> None:
    with pytest.raises(Unauthenticated), db.uow() as uow:
        users.login(uow, "mallory", PASSWORD)
    with db.uow() as uow:
        users.set_disabled(uow, actor, "alice", True)
        uow.commit()
    with pytest.raises(Unauthenticated):
        _login(db, PASSWORD)


def test_password_change_needs_the_old_one_and_follows_the_policy(db: Database,
                                                                  alice: None) -> None:
    with db.uow() as uow, pytest.raises(Unauthenticated):
        users.change_password(uow, "alice", "not my password", "another-good-passw0rd")
    with db.uow() as uow, pytest.raises(InvalidInput, match="at least"):
        users.change_password(uow, "alice", PASSWORD, "short")
    with db.uow() as uow:
        users.change_password(uow, "alice", PASSWORD, "another-good-passw0rd")
        uow.commit()
    _login(db, "another-good-passw0rd")


def test_only_system_admins_reset_passwords_and_the_user_must_change_it(
        db: Database, actor: Actor, alice: None) -> None:
    with db.uow() as uow:
        users.create_user(uow, actor, "bob", PASSWORD)
        bob = users.user_actor(users.get_user(uow.session, "bob"))
        uow.commit()
    with db.uow() as uow, pytest.raises(PermissionDenied):
        users.reset_password(uow, bob, "alice", "a-new-password-123")
    with db.uow() as uow:
        users.reset_password(uow, actor, "alice", "a-new-password-123")
        uow.commit()
    with db.uow() as uow:
        user = users.login(uow, "alice", "a-new-password-123")
        assert user.must_change_password


def test_grants_take_effect_and_can_be_revoked(db: Database, actor: Actor, alice: None) -> None:
    from satellite.accounts.service import create_account

    with db.uow() as uow:
        account = create_account(uow, actor, "Acme", "acme.example.com")
        alice_actor = users.user_actor(users.get_user(uow.session, "alice"))
        with pytest.raises(InvalidInput, match="virtual account role"):
            grants.grant(uow, actor, "alice", "va_user", "Acme")
        grants.grant(uow, actor, "alice", "account_viewer", "Acme")
        uow.commit()
    with db.reader() as uow:
        require(uow.session, alice_actor, "license.view", account_id=account.id)
        with pytest.raises(PermissionDenied):
            # A viewer cannot grant itself more.
            grants.grant(uow, alice_actor, "alice", "account_admin", "Acme")
    with db.uow() as uow:
        grants.revoke(uow, actor, "alice", "account_viewer", "Acme")
        uow.commit()
    with db.reader() as uow, pytest.raises(NotFound):
        require(uow.session, alice_actor, "license.view", account_id=account.id)
    with db.reader() as uow:
        actions = [e.action for e in list_events(uow.session, action="grant.", limit=10)]
    assert actions == ["grant.remove", "grant.add"]

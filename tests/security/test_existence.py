"""Finding 13: "does not exist" and "not yours" get the same answer."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from satellite.access import grants, requests
from satellite.actor import Actor
from satellite.errors import SatelliteError
from satellite.uow import Database
from satellite.users.models import User
from tests.access.helpers import World, build_world


@pytest.fixture
def world(db: Database, actor: Actor) -> World:
    world = build_world(db, actor)
    with db.uow() as uow:  # a user with no role anywhere, and one with a role elsewhere
        uow.session.add(User(username="stranger", password_hash="-", created_at=uow.clock.now()))
        uow.commit()
    return world


def _answer(db: Database, call: Callable[..., object]) -> str:
    try:
        with db.uow() as uow:
            made = call(uow)
            uow.commit()
    except SatelliteError as exc:
        return f"{exc.http_status} {exc.message} {exc.field}"
    return type(made).__name__


def _stranger(db: Database) -> Actor:
    from satellite.users.service import get_user, user_actor
    with db.reader() as uow:
        return user_actor(get_user(uow.session, "stranger"))


def test_an_access_request_does_not_tell_whether_the_account_exists(
        db: Database, world: World) -> None:
    who = _stranger(db)
    for ref in ("globex.example.com", "nowhere.example.com"):
        assert _answer(db, lambda uow, r=ref: requests.request_access(  # type: ignore[misc]
            uow, who, r, "account_user")) == "AccessRequest"
        again = _answer(db, lambda uow, r=ref: requests.request_access(  # type: ignore[misc]
            uow, who, r, "account_user"))
        assert again.startswith("409 you already have a pending request")


def test_an_account_request_does_not_tell_whether_the_account_exists(
        db: Database, world: World) -> None:
    who = _stranger(db)
    taken = _answer(db, lambda uow: requests.request_account(uow, who, "Acme", "acme.example.com"))
    free = _answer(db, lambda uow: requests.request_account(uow, who, "Newco", "new.example.com"))
    assert taken == free == "AccountRequest"


def test_revoke_and_grant_do_not_tell_an_account_admin_which_users_exist(
        db: Database, world: World) -> None:
    admin = world.actors["account_admin"]
    revoke = [_answer(db, lambda uow, n=name: grants.revoke(  # type: ignore[misc]
        uow, admin, n, "account_user", "Acme")).replace(name, "NAME")
        for name in ("stranger", "no-such-user")]
    assert revoke[0] == revoke[1] and revoke[0].startswith("404")
    viewer = world.actors["account_viewer"]
    grant = [_answer(db, lambda uow, n=name: grants.grant(  # type: ignore[misc]
        uow, viewer, n, "account_user", "Acme")).replace(name, "NAME")
        for name in ("stranger", "no-such-user")]
    assert grant[0] == grant[1] and grant[0].startswith("403")

"""Findings 8 and 9: the first password grants no token; a VA admin stays inside its VA."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient

from satellite.accounts.models import VirtualAccount
from satellite.accounts.service import move_va
from satellite.actor import Actor
from satellite.errors import PermissionDenied
from satellite.uow import Database
from satellite.users.service import create_user
from tests.access.helpers import build_world


def test_the_password_grant_refuses_a_user_who_must_change_the_password(
        db: Database, actor: Actor, client: FlaskClient,
        make_client: Callable[..., tuple[str, str]]) -> None:
    with db.uow() as uow:
        create_user(uow, actor, "alice", "first-password-given", must_change_password=True)
        uow.commit()
    client_id, secret = make_client("acme.example.com")
    answer = client.post("/oauth/token", json={
        "grant_type": "password", "client_id": client_id, "client_secret": secret,
        "username": "alice", "password": "first-password-given"})
    assert answer.status_code == 403, answer.json
    assert "must change" in answer.json["error"]
    assert "access_token" not in answer.json


def test_a_va_admin_cannot_move_a_nested_va_to_the_top_level(db: Database, actor: Actor) -> None:
    world = build_world(db, actor)
    with db.uow() as uow, pytest.raises(PermissionDenied):
        move_va(uow, world.actors["va_admin"], "Acme", "Child", None)
    with db.uow() as uow:
        move_va(uow, world.actors["account_admin"], "Acme", "Child", None)
        assert uow.session.get(VirtualAccount, world.child_id).parent_id is None  # type: ignore[union-attr]

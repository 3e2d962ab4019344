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


def test_a_token_got_with_a_password_that_must_change_can_only_change_it(
        db: Database, actor: Actor, client: FlaskClient,
        make_client: Callable[..., tuple[str, str]]) -> None:
    with db.uow() as uow:
        create_user(uow, actor, "alice", "first-password-given", must_change_password=True,
                    system_admin=True)
        uow.commit()
    client_id, secret = make_client("acme.example.com")

    def token(password: str) -> dict[str, str]:
        answer = client.post("/oauth/token", json={
            "grant_type": "password", "client_id": client_id, "client_secret": secret,
            "username": "alice", "password": password})
        return {"Authorization": f"Bearer {answer.json['access_token']}"}

    first = token("first-password-given")
    made = client.post("/api/v1/accounts/acme.example.com/virtual-accounts/Lab/tokens",
                       headers=first, json={"description": "x"})
    assert made.status_code == 403, made.json
    assert "change your password" in made.json["error"]
    assert client.get("/api/v1/accounts", headers=first).json.get("accounts", []) == []
    changed = client.post("/api/v1/me/password", headers=first, json={
        "oldPassword": "first-password-given", "newPassword": "a-password-of-her-own"})
    assert changed.status_code == 200
    later = token("a-password-of-her-own")
    made = client.post("/api/v1/accounts/acme.example.com/virtual-accounts/Lab/tokens",
                       headers=later, json={"description": "x"})
    assert made.status_code == 200, made.json


def test_a_va_admin_cannot_move_a_nested_va_to_the_top_level(db: Database, actor: Actor) -> None:
    world = build_world(db, actor)
    with db.uow() as uow, pytest.raises(PermissionDenied):
        move_va(uow, world.actors["va_admin"], "Acme", "Child", None)
    with db.uow() as uow:
        move_va(uow, world.actors["account_admin"], "Acme", "Child", None)
        assert uow.session.get(VirtualAccount, world.child_id).parent_id is None  # type: ignore[union-attr]

"""Finding 7 (sessions end on the server) and 15 (a disabled user's tokens stay dead)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from flask import Flask
from flask.testing import FlaskClient

from satellite.actor import Actor
from satellite.clock import FixedClock
from satellite.uow import Database
from satellite.users.service import create_user, reset_password, set_disabled
from satellite.web.security import SESSION_COOKIE
from tests.web.ui.conftest import Browser

ALICE = "violet-kestrel-42-river"


def _cookie(browser: Browser) -> str:
    cookie = browser.client.get_cookie(SESSION_COOKIE)
    assert cookie is not None
    return cookie.value


def _signed_in_with(app: Flask, cookie: str) -> bool:
    other = app.test_client()
    other.set_cookie(SESSION_COOKIE, cookie)
    return other.get("/accounts").status_code == 200


def test_a_copied_cookie_is_worthless_after_sign_out(app: Flask, admin: Browser) -> None:
    admin.get("/accounts")
    stolen = _cookie(admin)
    assert _signed_in_with(app, stolen)
    admin.post("/sign-out", status=302)
    assert not _signed_in_with(app, stolen)


def test_the_absolute_lifetime_does_not_slide_with_use(app: Flask, admin: Browser,
                                                       clock: FixedClock) -> None:
    for _ in range(12 * 3 - 1):  # busy all day, one page every 20 minutes
        clock.advance(timedelta(minutes=20))
        assert admin.client.get("/accounts").status_code == 200
    clock.advance(timedelta(minutes=21))  # 12 hours and a minute after signing in
    assert admin.client.get("/accounts").status_code == 302


def test_disabling_or_resetting_a_user_ends_its_sessions(app: Flask, db: Database,
                                                         browser: Browser) -> None:
    with db.uow() as uow:
        create_user(uow, Actor("cli", "t"), "alice", ALICE)
        uow.commit()
    browser.sign_in("alice", ALICE)
    held = _cookie(browser)
    with db.uow() as uow:
        set_disabled(uow, Actor("cli", "t"), "alice", True)
        uow.commit()
    with db.uow() as uow:
        set_disabled(uow, Actor("cli", "t"), "alice", False)
        uow.commit()
    assert not _signed_in_with(app, held)  # enabling again does not revive it

    browser.sign_in("alice", ALICE)
    held = _cookie(browser)
    with db.uow() as uow:
        reset_password(uow, Actor("cli", "t"), "alice", "another-fine-passphrase")
        uow.commit()
    assert not _signed_in_with(app, held)


def test_a_disabled_user_s_bearer_tokens_stay_revoked_after_enabling(
        db: Database, client: FlaskClient, make_client: Callable[..., tuple[str, str]]) -> None:
    with db.uow() as uow:
        create_user(uow, Actor("cli", "t"), "alice", ALICE)
        uow.commit()
    client_id, secret = make_client("acme.example.com")
    token = client.post("/oauth/token", json={
        "grant_type": "password", "client_id": client_id, "client_secret": secret,
        "username": "alice", "password": ALICE}).json["access_token"]
    me = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/me", headers=me).status_code == 200
    for disabled in (True, False):
        with db.uow() as uow:
            set_disabled(uow, Actor("cli", "t"), "alice", disabled)
            uow.commit()
    assert client.get("/api/v1/me", headers=me).status_code == 401

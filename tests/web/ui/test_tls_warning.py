"""The UI warns those who look after the appliance before the TLS certificate expires."""

from __future__ import annotations

from datetime import timedelta

import pytest

from satellite.access.grants import grant
from satellite.actor import Actor
from satellite.clock import FixedClock
from satellite.config import Settings
from satellite.proxy_tls import self_signed
from satellite.uow import Database
from satellite.users.service import create_user
from tests.web.ui.conftest import Browser

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
DASHBOARD = "/a/acme.example.com/"
HOST = "satellite.example.internal"


def _banner(html: str) -> str:
    start = html.find('<p class="notice error" role="alert">')
    return "" if start < 0 else html[start:html.find("</p>", start)]


def _account_admin(db: Database, browser: Browser) -> Browser:
    setup = Actor("cli", "setup")
    with db.uow() as uow:
        create_user(uow, setup, "ada", "a long account admin password")
        grant(uow, setup, "ada", "account_admin", "acme.example.com")
        uow.commit()
    browser.sign_in("ada", "a long account admin password")
    return browser


def test_no_banner_while_the_certificate_has_time_left(
        admin: Browser, settings: Settings, clock: FixedClock) -> None:
    assert _banner(admin.get("/system")) == "" and _banner(admin.get(DASHBOARD)) == ""
    self_signed(settings, HOST, ["127.0.0.1"], clock.now(), days=365)
    assert _banner(admin.get("/system")) == "" and _banner(admin.get(DASHBOARD)) == ""


def test_system_page_and_dashboard_warn_before_and_after_expiry(
        admin: Browser, settings: Settings, clock: FixedClock) -> None:
    self_signed(settings, HOST, ["127.0.0.1"], clock.now(), days=20)
    for url in ("/system", DASHBOARD):
        banner = _banner(admin.get(url))
        assert "the TLS certificate expires in 20 days (2026-03-21)" in banner, url
    clock.advance(timedelta(days=21))
    admin.sign_in()  # the idle session ended meanwhile
    for url in ("/system", DASHBOARD):
        banner = _banner(admin.get(url))
        assert "the TLS certificate expired on 2026-03-21: devices cannot connect" in banner, url


def test_users_who_may_not_see_system_health_get_no_banner_and_no_system_page(
        app: object, db: Database, browser: Browser, settings: Settings, clock: FixedClock) -> None:
    self_signed(settings, HOST, ["127.0.0.1"], clock.now(), days=5)
    user = _account_admin(db, browser)
    html = user.get(DASHBOARD)
    assert "Acme" in html and _banner(html) == ""
    assert 'href="/system"' not in html
    assert user.client.get("/system").status_code == 403

"""Session, CSRF and header protections of the web UI."""

from __future__ import annotations

import stat
from datetime import timedelta

import pytest
from flask import Flask

from satellite.clock import FixedClock
from satellite.config import Settings
from satellite.web.security import csrf_exempt
from tests.web.ui.conftest import Browser

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def _post_routes(app: Flask) -> list[str]:
    urls = []
    for rule in app.url_map.iter_rules():
        blueprint = rule.endpoint.rpartition(".")[0] if "." in rule.endpoint else None
        if "POST" in (rule.methods or ()) and not csrf_exempt(blueprint):
            urls.append(_fill(rule.rule, {arg: "1" for arg in rule.arguments}))
    return urls


def _fill(rule: str, values: dict[str, str]) -> str:
    for arg, value in values.items():
        rule = rule.replace(f"<int:{arg}>", value).replace(f"<{arg}>", value)
    return rule


def test_every_state_changing_route_refuses_a_request_without_a_valid_csrf_token(
        admin: Browser, app: Flask) -> None:
    urls = _post_routes(app)
    assert len(urls) >= 20
    # The walk finds forms as they are added (here the request forms of the accounts page).
    assert {"/accounts/ask-access", "/accounts/ask-account", "/accounts/requests/1"} <= set(urls)
    for url in urls:
        for token in (None, "forged-token"):
            data = {} if token is None else {"csrf_token": token}
            response = admin.client.post(url, data=data)
            assert response.status_code == 400, url
            assert "nothing was changed" in response.get_data(as_text=True), url


def test_a_refused_post_changes_nothing(admin: Browser) -> None:
    admin.client.post("/a/acme.example.com/virtual-accounts", data={"name": "Sneaky"})
    assert "Sneaky" not in admin.get("/a/acme.example.com/virtual-accounts")


def test_cookie_and_headers(browser: Browser) -> None:
    browser.get("/sign-in")
    response = browser.client.post("/sign-in", data={
        "csrf_token": browser.token, "username": "admin",
        "password": "correct horse battery staple"})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Secure" not in cookie
    page = browser.client.get("/accounts")
    csp = page.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["Cache-Control"] == "no-store"
    assert "correct horse" not in page.get_data(as_text=True)


def test_secure_cookie_when_configured(settings: Settings, db: object) -> None:
    from dataclasses import replace

    from satellite.web import create_app

    app = create_app(replace(settings, secure_cookies=True), db)  # type: ignore[arg-type]
    assert app.config["SESSION_COOKIE_SECURE"] is True


def test_session_secret_is_private_and_stable(settings: Settings, app: Flask) -> None:
    path = settings.data_dir / "keys" / "session.secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert app.secret_key == path.read_bytes().strip()


def test_pages_need_sign_in(browser: Browser) -> None:
    for url in ("/", "/accounts", "/a/acme.example.com/licenses", "/audit", "/system"):
        response = browser.client.get(url)
        assert response.status_code == 302 and response.headers["Location"].endswith("/sign-in")


def test_idle_session_ends(admin: Browser, clock: FixedClock) -> None:
    admin.get("/accounts")
    clock.advance(timedelta(minutes=31))
    response = admin.client.get("/accounts")
    assert response.status_code == 302
    assert "after a while without use" in admin.get("/sign-in")


def test_sign_out_ends_the_session(admin: Browser) -> None:
    admin.get("/accounts")
    admin.post("/sign-out", status=302)
    assert admin.client.get("/accounts").status_code == 302

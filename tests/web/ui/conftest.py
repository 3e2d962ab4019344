"""Web UI fixtures: the app on the test database and a client that signs in like a browser."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from satellite.accounts.service import create_account, create_va
from satellite.actor import Actor
from satellite.config import Settings
from satellite.uow import Database
from satellite.web import create_app

ADMIN_PASSWORD = "correct horse battery staple"
_TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def csrf_token(html: str) -> str:
    found = _TOKEN.search(html)
    assert found, "the page has no CSRF token"
    return found.group(1)


@dataclass
class Browser:
    """A test client that keeps the CSRF token of the last page it read."""

    client: FlaskClient
    token: str = ""

    def get(self, url: str, status: int = 200) -> str:
        response = self.client.get(url)
        assert response.status_code == status, (url, response.status_code)
        html = response.get_data(as_text=True)
        found = _TOKEN.search(html)
        if found:
            self.token = found.group(1)
        return html

    def post(self, url: str, data: dict[str, object] | None = None, status: int | None = None,
             **kwargs: object) -> tuple[int, str]:
        body = {"csrf_token": self.token, **(data or {})}
        response = self.client.post(url, data=body, **kwargs)  # type: ignore[arg-type]
        if status is not None:
            assert response.status_code == status, (url, response.status_code,
                                                     response.get_data(as_text=True)[:2000])
        return response.status_code, response.get_data(as_text=True)

    def sign_in(self, username: str = "admin", password: str = ADMIN_PASSWORD) -> None:
        self.get("/sign-in")
        self.post("/sign-in", {"username": username, "password": password}, status=302)


@pytest.fixture
def app(settings: Settings, db: Database) -> Iterator[Flask]:
    with db.uow() as uow:
        create_account(uow, Actor("cli", "setup"), "Acme", "acme.example.com")
        create_va(uow, Actor("cli", "setup"), "acme.example.com", "Lab")
        uow.commit()
    app = create_app(settings, db)
    app.config["TESTING"] = True
    yield app


@pytest.fixture
def browser(app: Flask) -> Browser:
    return Browser(app.test_client())


@pytest.fixture
def admin(browser: Browser) -> Browser:
    browser.sign_in()
    return browser


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Debian's chromium through Playwright, one per test module (browser tests only)."""
    from tests.web.ui.browser import launched

    with launched() as browser:
        yield browser

"""A service's refusal is shown next to the form field it names, with what was typed kept and
nothing changed in the database."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import func, select

import satellite.models  # noqa: F401 (every table in the metadata)
from satellite.accounts.models import MAX_VA_DEPTH
from satellite.accounts.service import create_va, find_va
from satellite.actor import Actor
from satellite.db import Base
from satellite.uow import Database
from satellite.users.service import create_user
from tests.devices.helpers import add_lines
from tests.web.ui.conftest import Browser

ACME = "/a/acme.example.com"
SETUP = Actor("cli", "setup")
PASSWORD = "a long enough password 1"


def _rows(db: Database) -> dict[str, Any]:
    """Every table's row count and the audit chain's head: what any change would move."""
    with db.engine.connect() as conn:
        counts: dict[str, Any] = {
            table.name: conn.scalar(select(func.count()).select_from(table))
            for table in Base.metadata.sorted_tables}
        counts["audit head"] = conn.execute(
            select(Base.metadata.tables["audit_head"])).all()
    return counts


@contextmanager
def unchanged(db: Database) -> Iterator[None]:
    before = _rows(db)
    yield
    assert _rows(db) == before


def _error_at(html: str, field_id: str, text: str) -> None:
    """`text` is shown as the error of the field `field_id`, and nowhere else on the form."""
    marker = f'<p class="error" id="{field_id}-err" role="alert">'
    assert marker in html, (field_id, html[html.find('role="alert"') - 200:][:600])
    shown = html.split(marker)[1].split("</p>")[0]
    assert text.replace("'", "&#39;") in shown, shown


@pytest.fixture
def ula(app: object, db: Database, browser: Browser) -> Browser:
    """A signed-in user holding no role."""
    with db.uow() as uow:
        create_user(uow, SETUP, "ula", PASSWORD, must_change_password=False)
        uow.commit()
    browser.sign_in("ula", PASSWORD)
    browser.get("/accounts")
    return browser


def test_an_access_request_refused_for_its_account_shows_at_the_account(
        ula: Browser, db: Database) -> None:
    ula.post("/accounts/ask-access", {"acc-csrf_token": ula.token,
                                      "acc-account": "acme.example.com",
                                      "acc-role": "account_user"}, status=302)
    ula.get("/accounts")
    with unchanged(db):
        status, html = ula.post("/accounts/ask-access", {
            "acc-csrf_token": ula.token, "acc-account": "acme.example.com",
            "acc-role": "account_admin", "acc-note": "promotion please"})
    assert status == 409
    _error_at(html, "acc-account", "you already have a pending request")
    assert 'value="acme.example.com"' in html and 'value="promotion please"' in html
    assert '<option selected value="account_admin">' in html
    assert 'id="acc-role-err"' not in html


def test_an_account_request_for_a_taken_name_is_answered_like_any_other(
        ula: Browser, db: Database) -> None:
    # Refusing it here would tell anyone which accounts exist: whoever decides it learns.
    status, _ = ula.post("/accounts/ask-account", {
        "req-csrf_token": ula.token, "req-name": "Acme", "req-domain": "fresh.example.org",
        "req-note": "for the plant"})
    assert status == 302


@pytest.mark.parametrize("domain, status, message", [
    ("not a domain", 400, "is not a domain identifier"),
])
def test_an_account_request_for_a_bad_domain_shows_at_the_domain(
        ula: Browser, db: Database, domain: str, status: int, message: str) -> None:
    with unchanged(db):
        answered, html = ula.post("/accounts/ask-account", {
            "req-csrf_token": ula.token, "req-name": "Brand New", "req-domain": domain})
    assert answered == status
    _error_at(html, "req-domain", message)
    assert 'id="req-name-err"' not in html and 'value="Brand New"' in html


@pytest.mark.parametrize("name, domain, field", [
    ("Acme", "other.example.org", "new-name"),
    ("Other", "acme.example.com", "new-domain"),
])
def test_creating_an_account_that_exists_shows_at_the_taken_field(
        admin: Browser, db: Database, name: str, domain: str, field: str) -> None:
    admin.get("/accounts")
    with unchanged(db):
        status, html = admin.post("/accounts", {"new-csrf_token": admin.token,
                                                "new-name": name, "new-domain": domain})
    assert status == 409
    _error_at(html, field, "already exists")
    assert f'value="{name}"' in html and f'value="{domain}"' in html


def test_a_va_too_deep_shows_at_its_parent(admin: Browser, db: Database) -> None:
    with db.uow() as uow:
        parent = None
        for level in range(1, MAX_VA_DEPTH + 1):
            create_va(uow, SETUP, "acme.example.com", f"Level {level}", parent)
            parent = f"Level {level}"
        uow.commit()
    admin.get(f"{ACME}/virtual-accounts")
    with unchanged(db):
        status, html = admin.post(f"{ACME}/virtual-accounts", {
            "name": "Too Deep", "parent": parent, "description": "one more"})
    assert status == 400
    _error_at(html, "parent", f"nest at most {MAX_VA_DEPTH} levels")
    assert 'id="name-err"' not in html
    assert 'value="Too Deep"' in html and 'value="one more"' in html


@pytest.mark.parametrize("username, password, field, message", [
    ("admin", "some other password 2", "username", "a user named 'admin' already exists"),
    ("bob", "bob's password is long", "password", "must not contain the user name"),
    ("bob smith", "some other password 2", "username", "may use letters, digits"),
])
def test_a_refused_user_shows_at_the_field_at_fault(
        admin: Browser, db: Database, username: str, password: str, field: str,
        message: str) -> None:
    admin.get("/users")
    with unchanged(db):
        status, html = admin.post("/users/create", {"username": username,
                                                    "password": password})
    assert status in (400, 409)
    _error_at(html, field, message)
    assert f'value="{username}"' in html


@pytest.mark.parametrize("username, role, va, field, message", [
    ("nobody", "account_user", "", "username", "no user named 'nobody'"),
    ("vic", "va_user", "", "va", "give the virtual account"),
    ("vic", "account_user", "Lab", "va", "give no virtual account"),
])
def test_a_refused_grant_shows_at_the_field_at_fault(
        admin: Browser, db: Database, username: str, role: str, va: str, field: str,
        message: str) -> None:
    with db.uow() as uow:
        create_user(uow, SETUP, "vic", PASSWORD)
        uow.commit()
    admin.get(f"{ACME}/access")
    with unchanged(db):
        status, html = admin.post(f"{ACME}/access/grant", {"username": username, "role": role,
                                                          "va": va})
    assert status in (400, 404)
    _error_at(html, field, message)
    assert f'value="{username}"' in html


@pytest.mark.parametrize("source, target, tag, quantity, field, message", [
    ("Default", "Default", "regid.x", "1", "target", "to itself"),
    ("Default", "Lab", "regid.none", "1", "tag", "has no license 'regid.none'"),
    ("Default", "Lab", "regid.x", "9", "quantity", "cannot transfer 9"),
])
def test_a_refused_transfer_shows_at_the_field_at_fault(
        admin: Browser, db: Database, source: str, target: str, tag: str, quantity: str,
        field: str, message: str) -> None:
    with db.uow() as uow:
        _, default = find_va(uow.session, "acme.example.com", "Default")
        add_lines(uow.session, default.id, "regid.x", 3)
        uow.commit()
    admin.get(f"{ACME}/licenses")
    with unchanged(db):
        status, html = admin.post(f"{ACME}/licenses/transfer", {
            "source": source, "target": target, "tag": tag, "quantity": quantity})
    assert status in (400, 404, 409)
    _error_at(html, field, message)
    assert f'value="{tag}"' in html and f'value="{quantity}"' in html


"""The role x operation matrix through the web UI's forms: each form, posted by a signed-in
user of each role, succeeds exactly when the permission table (docs/access.md) says so.

The users of tests.access.helpers.build_world hold VA roles on `Parent`; the forms act on
`Child`, nested under it, and on VAs made for the purpose beside it."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import update

from satellite.accounts.service import create_va
from satellite.actor import Actor
from satellite.config import Settings
from satellite.uow import Database
from satellite.users.models import User
from satellite.users.passwords import hash_password
from satellite.web import create_app
from tests.access.helpers import build_world
from tests.access.test_policy import EXPECTED, SHORT
from tests.web.ui.conftest import Browser

PASSWORD = "violet-kestrel-42-river"
A = "/a/acme.example.com"
# (form, URL, fields, the operation the permission table names for it, or who may)
FORMS = [
    ("create token", f"{A}/tokens/create", {"va": "Child", "description": "m",
                                            "expires_days": "30"}, "token.manage"),
    ("create VA", f"{A}/virtual-accounts", {"name": "Made", "parent": "Child"}, "va.create"),
    ("rename VA", f"{A}/virtual-accounts/Renamed/rename", {"new_name": "Renamed2"},
     "va.update"),
    ("move VA", f"{A}/virtual-accounts/Moved/move", {"parent": "Child"}, "va.update"),
    ("delete VA", f"{A}/virtual-accounts/Deleted/delete", {}, "va.delete"),
    # The top level holds what only account-wide roles create (finding 9).
    ("move VA to the top", f"{A}/virtual-accounts/Child/move", {"parent": ""}, "SA AA"),
    ("grant", f"{A}/access/grant", {"username": "nobody", "role": "va_viewer", "va": "Child"},
     "grant.manage"),
    ("revoke", f"{A}/access/revoke", {"username": "va_viewer", "role": "va_viewer",
                                      "va": "Parent"}, "grant.manage"),
    ("create API client", f"{A}/access/api-clients", {"role": "account_viewer"},
     "apiclient.manage"),  # answered 200: the page shows the new secret
    ("create account", "/accounts", {"new-name": "Initech", "new-domain": "initech.example.com"},
     "account.create"),
    ("create user", "/users/create", {"username": "newbie", "password": "a-fresh-passphrase-9"},
     "user.manage"),
    ("disable user", "/users/nobody/disabled", {"disabled": "1"}, "user.manage"),
    ("set export-control category", f"{A}/export-category", {"category": "C"},
     "account.export_category"),
]


@pytest.fixture
def world_app(db: Database, actor: Actor, settings: Settings) -> Flask:
    build_world(db, actor)
    with db.uow() as uow:
        for name in ("Renamed", "Moved", "Deleted"):
            create_va(uow, actor, "Acme", name, parent="Parent")
        uow.session.execute(update(User).values(password_hash=hash_password(PASSWORD),
                                                must_change_password=False))
        uow.commit()
    app = create_app(settings, db)
    app.config["TESTING"] = True
    return app


@pytest.mark.parametrize("role", [*SHORT, "nobody"])
def test_ui_forms_follow_the_permission_table(world_app: Flask, role: str) -> None:
    app = world_app
    browser = Browser(app.test_client())
    browser.sign_in(role, PASSWORD)
    wrong = []
    for name, url, fields, operation in FORMS:
        browser.get("/accounts")
        status, html = browser.post(url, {**fields, "new-csrf_token": browser.token})
        done = status == 302 or (status == 200 and 'id="client-secret"' in html)
        may = SHORT.get(role) in EXPECTED.get(operation, operation).split()
        if done != may:
            wrong.append(f"{name}: {status}, expected {'success' if may else 'refusal'}")
    assert wrong == []

"""Pages through the Flask test client: forms report bad input in place and change nothing."""

from __future__ import annotations

import re

import pytest

from satellite.accounts.service import get_account, set_reservation_mode
from satellite.actor import Actor
from satellite.clock import FixedClock
from satellite.config import Settings
from satellite.keystore import open_keystore
from satellite.reservation import codes
from satellite.uow import Database
from satellite.users.service import create_user
from tests.reservation.certify import certify
from tests.web.ui.conftest import Browser

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
ACME = "/a/acme.example.com"


def test_every_page_renders_for_the_system_admin(admin: Browser) -> None:
    for url in ("/accounts", f"{ACME}/", f"{ACME}/virtual-accounts", f"{ACME}/virtual-accounts/Lab",
                f"{ACME}/licenses", f"{ACME}/reservations", f"{ACME}/access", "/users", "/sync",
                f"{ACME}/devices", f"{ACME}/tokens", f"{ACME}/alerts",
                "/audit", "/audit/verify", "/system", "/settings", "/password"):
        html = admin.get(url)
        assert "<h1" in html and "Signed in as <strong>admin</strong>" in html


def test_wrong_password_is_reported_next_to_the_form(browser: Browser) -> None:
    browser.get("/sign-in")
    status, html = browser.post("/sign-in", {"username": "admin", "password": "nope"})
    assert status == 401 and "wrong user name or password" in html
    assert 'value="admin"' in html  # what was typed is kept (not the password)


def test_lockout_message(browser: Browser) -> None:
    browser.get("/sign-in")
    for _ in range(4):
        status, html = browser.post("/sign-in", {"username": "admin", "password": "nope"})
    assert status == 429 and "try again in" in html


def test_create_rename_move_delete_a_va(admin: Browser) -> None:
    admin.get(f"{ACME}/virtual-accounts")
    admin.post(f"{ACME}/virtual-accounts", {"name": "Plant", "parent": "", "description": "x"},
               status=302)
    admin.post(f"{ACME}/virtual-accounts", {"name": "Line 1", "parent": "Plant"}, status=302)
    assert "Line 1" in admin.get(f"{ACME}/virtual-accounts")
    admin.get(f"{ACME}/virtual-accounts/Plant")
    admin.post(f"{ACME}/virtual-accounts/Plant/rename", {"new_name": "Factory"}, status=302)
    admin.get(f"{ACME}/virtual-accounts/Line 1")
    admin.post(f"{ACME}/virtual-accounts/Line 1/move", {"parent": "Lab"}, status=302)
    assert "Lab / Line 1" in admin.get(f"{ACME}/virtual-accounts/Line 1")
    admin.post(f"{ACME}/virtual-accounts/Line 1/delete", status=302)
    assert "virtual-accounts/Line%201" not in admin.get(f"{ACME}/virtual-accounts")


def test_a_duplicate_va_name_is_reported_at_the_field_and_typed_values_stay(
        admin: Browser) -> None:
    admin.get(f"{ACME}/virtual-accounts")
    status, html = admin.post(f"{ACME}/virtual-accounts",
                              {"name": "Lab", "parent": "", "description": "my words"})
    assert status == 409
    assert 'id="name-err"' in html and "already has a virtual account named" in html
    assert 'value="my words"' in html


def test_transfer_shortfall_is_a_form_error(admin: Browser) -> None:
    admin.get(f"{ACME}/licenses")
    status, html = admin.post(f"{ACME}/licenses/transfer", {
        "source": "Default", "target": "Lab", "tag": "regid.x", "quantity": "5"})
    assert status in (404, 409) and 'role="alert"' in html
    status, html = admin.post(f"{ACME}/licenses/transfer", {
        "source": "Default", "target": "Lab", "tag": "regid.x", "quantity": "0"})
    assert status == 400 and 'id="quantity-err"' in html


def test_reservation_request_code_typo_names_the_position(admin: Browser) -> None:
    admin.get(f"{ACME}/reservations")
    status, html = admin.post(f"{ACME}/reservations/authorize", {
        "va": "Default", "request_code": "R0000-00000-00000", "kind": "PLR", "licenses": ""})
    assert status == 422 and 'id="request_code-err"' in html
    assert "R0000-00000-00000" in html


def test_the_certificate_chain_download_needs_a_registered_satellite(
        admin: Browser, settings: Settings, clock: FixedClock, db: Database) -> None:
    with db.uow() as uow:
        set_reservation_mode(uow, Actor("cli", "setup"), "acme.example.com", "both")
        uow.commit()
    admin.get(f"{ACME}/reservations")
    response = admin.client.get(f"{ACME}/reservations/satellite-chain.pem")
    assert response.status_code == 302
    assert "satellite sync register" in admin.get(f"{ACME}/reservations")
    # Authorizing is refused above the form, not next to the request code, which is fine.
    request = codes.RequestCode.for_device(bytes(32), codes.Udi("C9300", "A1"), bytes(8))
    status, html = admin.post(f"{ACME}/reservations/authorize", {
        "va": "Default", "request_code": request.encode(), "kind": "PLR", "licenses": ""})
    assert status == 409 and "satellite sync register" in html
    assert 'id="request_code-err"' not in html
    certify(settings, clock.now())
    response = admin.client.get(f"{ACME}/reservations/satellite-chain.pem")
    assert response.status_code == 200
    assert response.get_data() == open_keystore(settings).satellite_certificate()


def test_a_viewer_sees_no_forms_and_posting_anyway_is_refused(
        app: object, db: Database, browser: Browser) -> None:
    cli = Actor("cli", "setup")
    with db.uow() as uow:
        create_user(uow, cli, "vera", "a long viewer password 1")
        uow.commit()
    from satellite.access.grants import grant

    with db.uow() as uow:
        grant(uow, cli, "vera", "account_viewer", "acme.example.com")
        uow.commit()
    browser.sign_in("vera", "a long viewer password 1")
    browser.get("/password")
    browser.post("/password", {"current": "a long viewer password 1",
                               "new": "another long password 2",
                               "repeat": "another long password 2"}, status=302)
    for url in (f"{ACME}/virtual-accounts", f"{ACME}/licenses", f"{ACME}/reservations",
                f"{ACME}/virtual-accounts/Lab", f"{ACME}/access"):
        html = browser.get(url)
        assert 'method="post"' not in html.replace(
            'method="post" action="/sign-out"', ""), url
    status, _ = browser.post(f"{ACME}/virtual-accounts", {"name": "Nope", "parent": ""})
    assert status in (403, 404)
    status, _ = browser.post(f"{ACME}/virtual-accounts/Lab/delete")
    assert status in (403, 404)
    browser.get("/settings", status=403)
    assert 'href="/settings"' not in browser.get(f"{ACME}/")
    with db.reader() as uow:
        assert get_account(uow.session, "acme.example.com") is not None
    assert "Nope" not in browser.get(f"{ACME}/virtual-accounts")
    assert browser.client.get("/users").status_code == 403


def test_settings_show_values_and_sources_but_no_password(
        tmp_path: object, db: Database, settings: object) -> None:
    from pathlib import Path

    from satellite.central_settings import STATE_PREFIX
    from satellite.config import load_settings
    from satellite.state import set_state
    from satellite.web import create_app

    folder = Path(str(tmp_path))
    (folder / "satellite.toml").write_text('central_url = "https://central.example.com"\n'
                                           'proxy_url = "http://ops:hunter2secret@proxy.lan:3128"\n')
    running = load_settings(
        data_dir=settings.data_dir, config_file=folder / "satellite.toml",  # type: ignore[attr-defined]
        env={"SATELLITE_DEVICE_URL": "https://sat.example.com"},
        overrides={"database_url": settings.database_url})  # type: ignore[attr-defined]
    with db.uow() as uow:
        set_state(uow.session, STATE_PREFIX + "sync_interval_hours", "4.0")
        uow.commit()
    app = create_app(running, db)
    app.config["TESTING"] = True
    admin = Browser(app.test_client())
    admin.sign_in()
    html = admin.get("/settings")
    device = html.split('id="setting-device_url"')[1].split("</tr>")[0]
    assert "https://sat.example.com" in device and "environment SATELLITE_DEVICE_URL" in device
    central = html.split('id="setting-central_url"')[1].split("</tr>")[0]
    assert f"file {folder / 'satellite.toml'}" in central
    proxy = html.split('id="setting-proxy_url"')[1].split("</tr>")[0]
    assert "http://ops:***@proxy.lan:3128" in proxy and "hunter2secret" not in html
    interval = html.split('id="setting-sync_interval_hours"')[1].split("</tr>")[0]
    assert "<code>4.0</code>" in interval and "Central&#39;s policy" in interval
    assert "default" in html.split('id="setting-threads"')[1].split("</tr>")[0]


def test_any_user_asks_for_access_and_for_an_account_and_admins_decide(
        app: object, db: Database, browser: Browser) -> None:
    with db.uow() as uow:
        create_user(uow, Actor("cli", "setup"), "ula", "a long enough password 1",
                    must_change_password=False)
        uow.commit()
    browser.sign_in("ula", "a long enough password 1")
    browser.get("/accounts")
    # An account that does not exist is asked for like any other: nothing tells it apart.
    browser.post("/accounts/ask-access", {
        "acc-csrf_token": browser.token, "acc-account": "nope.example.com",
        "acc-role": "account_user", "acc-note": "for the lab"}, status=302)
    browser.post("/accounts/ask-access", {
        "acc-csrf_token": browser.token, "acc-account": "acme.example.com",
        "acc-role": "account_user"}, status=302)
    browser.post("/accounts/ask-account", {
        "req-csrf_token": browser.token, "req-name": "Acme Lab",
        "req-domain": "lab.acme.example.com"}, status=302)
    # A taken domain is asked for like a free one (refusing would tell it is taken); approving
    # it fails, for whoever decides.
    browser.post("/accounts/ask-account", {
        "req-csrf_token": browser.token, "req-name": "Again", "req-domain": "acme.example.com"},
        status=302)
    mine = browser.get("/accounts").split('id="account-requests"')[1]
    assert "lab.acme.example.com" in mine and "Approve" not in mine

    admin = Browser(browser.client.application.test_client())  # type: ignore[attr-defined]
    admin.sign_in()
    assert "ula" in admin.get(f"{ACME}/access").split("Access requests")[1]
    listing = admin.get("/accounts").split('id="account-requests"')[1]
    assert "Approve" in listing
    ids = dict(re.findall(r'<td>\d+</td><td>([^<]+)</td>.*?/accounts/requests/(\d+)"',
                          listing, re.S))
    again, request_id = ids["Again"], ids["Acme Lab"]
    admin.post(f"/accounts/requests/{again}", {"approve": "1"}, status=409)  # domain taken
    admin.post(f"/accounts/requests/{request_id}", {"approve": "1"}, status=302)
    with db.reader() as uow:
        assert get_account(uow.session, "lab.acme.example.com").name == "Acme Lab"
    assert "approved by" in browser.get("/accounts").split('id="account-requests"')[1]


def test_the_account_page_shows_the_export_category_and_system_admins_change_it(
        admin: Browser, db: Database) -> None:
    page = admin.get(f"{ACME}/")
    assert "Export-control category <strong>A</strong>" in page
    admin.post(f"{ACME}/export-category", {"category": "D"}, status=302)
    page = admin.get(f"{ACME}/")
    assert "Export-control category <strong>D</strong>" in page
    assert "is now in export-control category D" in page
    assert "<td>D</td>" in admin.get("/accounts")
    status, html = admin.post(f"{ACME}/export-category", {"category": "Z"})
    assert status == 400 and "not changed" in html
    with db.reader() as uow:
        assert get_account(uow.session, "acme.example.com").export_category == "D"


def test_the_tokens_page_says_a_restricted_account_grants_no_export_control(
        admin: Browser, db: Database) -> None:
    from satellite.accounts.export_control import set_category
    from satellite.tokens.secrets import TokenSealer
    from satellite.tokens.service import create_token

    with db.uow() as uow:
        create_token(uow, Actor("cli", "setup"), TokenSealer.for_data_dir(
            admin.client.application.config["SATELLITE_SETTINGS"].data_dir),
            "Acme", "Lab", export_controlled=True)
        set_category(uow, Actor("cli", "setup"), "Acme", "C")
        uow.commit()
    page = admin.get(f"{ACME}/tokens")
    assert "not granted: the account's export-control category is C" in page
    assert "cannot be allowed: the account is in export-control category C" in page
    status, html = admin.post(f"{ACME}/tokens/create", {
        "va": "Lab", "description": "x", "expires_days": "30", "export_controlled": "y"})
    assert status == 403 and "export-control category C" in html

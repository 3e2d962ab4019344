"""Tasks that were CLI-only, now in the web UI: alert channels, the account's reservation
setting, sync registration and "sync now", license transfer to another account."""

from __future__ import annotations

import re
from dataclasses import replace

from flask import Flask

from satellite.accounts.service import create_account, create_va
from satellite.actor import Actor
from satellite.config import Settings
from satellite.uow import Database
from tests.alerts.sinks import http_sink
from tests.licenses.helpers import ROUTER
from tests.web.ui.conftest import Browser

ACME = "/a/acme.example.com"


def test_alert_channels_add_test_and_remove(admin: Browser, app: Flask,
                                            settings: Settings) -> None:
    # The webhook sink listens on loopback, which only the settings file may allow.
    admin.get(f"{ACME}/alerts/channels")
    status, html = admin.post(f"{ACME}/alerts/channels/add", {
        "name": "local", "kind": "webhook", "target": "http://127.0.0.1:9/hook",
        "min_severity": "warning", "dedupe_hours": "24"})
    assert status == 400 and "alert_allow_local_targets" in html
    app.config["SATELLITE_SETTINGS"] = replace(settings, alert_allow_local_targets=True)
    assert f"{ACME}/alerts/channels" in admin.get(f"{ACME}/alerts")
    html = admin.get(f"{ACME}/alerts/channels")
    assert "No channels" in html
    with http_sink() as sink:
        status, html = admin.post(f"{ACME}/alerts/channels/add", {
            "name": "ops-hook", "kind": "webhook", "target": sink.url,
            "min_severity": "warning", "dedupe_hours": "24"}, status=200)
        assert 'id="channel-secret"' in html  # the signing key, shown once
        admin.post(f"{ACME}/alerts/channels/ops-hook/test", {}, status=302)
        assert len(sink.requests) == 1
        assert "Test of alert channel" in sink.requests[0].body.decode()
    html = admin.get(f"{ACME}/alerts/channels")
    assert "Test alert sent through" in html and "ops-hook" in html
    assert 'id="channel-secret"' not in html
    # Bad input is shown next to its field and changes nothing.
    status, html = admin.post(f"{ACME}/alerts/channels/add", {
        "name": "mail", "kind": "email", "target": "not an address", "min_severity": "warning",
        "dedupe_hours": "24"})
    assert status == 400 and "not an address" in html
    admin.post(f"{ACME}/alerts/channels/ops-hook/remove", {}, status=302)
    assert "No channels" in admin.get(f"{ACME}/alerts/channels")


def test_the_reservation_setting_is_changed_on_the_reservations_page(admin: Browser) -> None:
    html = admin.get(f"{ACME}/reservations")
    assert 'id="reservation-mode"' in html
    admin.post(f"{ACME}/reservations/mode", {"mode-mode": "both"}, status=302)
    html = admin.get(f"{ACME}/reservations")
    assert "Reservations for Acme: both." in html
    assert re.search(r'<option selected value="both">|<option value="both" selected>', html)
    status, _ = admin.post(f"{ACME}/reservations/mode", {"mode-mode": "all"})
    assert status == 400


def test_sync_page_downloads_the_registration_request(admin: Browser) -> None:
    html = admin.get("/sync")
    assert 'id="register"' in html and 'id="sync-now"' not in html  # no central_url
    response = admin.client.post("/sync/register", data={"reg-csrf_token": admin.token})
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.headers["Content-Disposition"].startswith(
        "attachment; filename=registration-request-1.bundle")
    assert len(response.data) > 100
    response.close()
    assert "pending" in admin.get("/sync")


def test_sync_now_reports_an_unreachable_central_in_one_line(
        app: object, settings: Settings, admin: Browser) -> None:
    from dataclasses import replace

    from tests.serving import free_port
    app.config["SATELLITE_SETTINGS"] = replace(  # type: ignore[attr-defined]
        settings, central_url=f"http://127.0.0.1:{free_port()}/", sync_retry_seconds=0.01)
    html = admin.get("/sync")
    assert 'id="sync-now"' in html
    admin.client.post("/sync/now", data={"now-csrf_token": admin.token})
    html = admin.get("/sync")
    assert re.search(r'<p class="notice error">[^<]*(reach|connect|refused)', html), html[-3000:]


def test_licenses_move_to_another_account(admin: Browser, db: Database) -> None:
    setup = Actor("cli", "setup")
    with db.uow() as uow:
        create_account(uow, setup, "Beta", "beta.example.com")
        create_va(uow, setup, "beta.example.com", "Plant")
        uow.commit()
    from tests.licenses.helpers import add_line, va_ids
    add_line(db, va_ids(db, "Acme")["Lab"], ROUTER, 5)
    html = admin.get(f"{ACME}/licenses")
    assert 'id="transfer-account"' in html
    form = {"acc-source": "Lab", "acc-to_account": "beta.example.com", "acc-target": "Plant",
            "acc-tag": ROUTER, "acc-quantity": "2"}
    status, html = admin.post(f"{ACME}/licenses/transfer-account", {**form, "acc-quantity": "9"})
    assert status == 409 and "cannot transfer 9" in html
    admin.post(f"{ACME}/licenses/transfer-account", form, status=302)
    html = admin.get("/a/beta.example.com/licenses")
    assert ROUTER in html and "Plant" in html

"""Devices, tokens, alerts, sync export/status and the dashboard through the test client."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask

from satellite.accounts.service import create_va, find_va
from satellite.actor import Actor
from satellite.agent.client import DeviceClient
from satellite.alerts.service import raise_alert
from satellite.clock import FixedClock
from satellite.cloudsync.central_registration import mark_registered
from satellite.cloudsync.envelope import write_bundle
from satellite.cloudsync.records import CENTRAL_RESPONSE
from satellite.cloudsync.service import SNAPSHOT
from satellite.config import Settings
from satellite.crypto import keys
from satellite.crypto.signing import Signer
from satellite.keystore import open_keystore, parse_central_key
from satellite.state import get_state
from satellite.tokens.secrets import TokenSealer
from satellite.tokens.service import create_token
from satellite.uow import Database
from tests.cloudsync.conftest import Central
from tests.devices.helpers import TAG, FlaskTransport, add_lines
from tests.web.ui.conftest import Browser

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
ACME = "/a/acme.example.com"
SETUP = Actor("cli", "setup")


@pytest.fixture
def lab(db: Database, settings: Settings, app: Flask) -> str:
    """Lab holds 1 of TAG; Spare exists; returns a registration token for Lab."""
    with db.uow() as uow:
        create_va(uow, SETUP, "acme.example.com", "Spare")
        add_lines(uow.session, find_va(uow.session, "Acme", "Lab")[1].id, TAG, 1)
        view = create_token(uow, SETUP, TokenSealer.for_data_dir(settings.data_dir), "Acme",
                            "Lab", description="bench")
        uow.commit()
    return view.secret


def _signed_in_with_role(db: Database, browser: Browser, username: str, role: str,
                         va: str) -> None:
    """A new user holding `role` on one VA of Acme, signed in (first password changed)."""
    from satellite.access.grants import grant
    from satellite.users.service import create_user

    with db.uow() as uow:
        create_user(uow, SETUP, username, "a long first password 1")
        grant(uow, SETUP, username, role, "acme.example.com", va)
        uow.commit()
    browser.sign_in(username, "a long first password 1")
    browser.get("/password")
    browser.post("/password", {"current": "a long first password 1",
                               "new": "another long password 2",
                               "repeat": "another long password 2"}, status=302)


def _device(app: Flask, clock: FixedClock, token: str, sn: str) -> DeviceClient:
    client = DeviceClient(FlaskTransport(app.test_client()), keys.generate_private_key(),
                          now=clock.now)
    client.register(token, "C9300-24T", sn, hostname=f"sw-{sn}")
    return client


def test_device_list_search_filter_detail_transfer_and_remove(
        admin: Browser, app: Flask, clock: FixedClock, lab: str) -> None:
    one, two = _device(app, clock, lab, "A1"), _device(app, clock, lab, "B2")
    one.report({TAG: 1})
    assert two.report({TAG: 1})["status"] == "OUT_OF_COMPLIANCE"
    html = admin.get(f"{ACME}/devices")
    assert "2 product instances." in html and "PID:C9300-24T,SN:A1" in html
    html = admin.get(f"{ACME}/devices?q=sw-B2")
    assert "1 product instance." in html and "SN:B2" in html and "SN:A1" not in html
    # Both consume the short pool: both are Out Of Compliance, not only the one that called last.
    html = admin.get(f"{ACME}/devices?status=Out+Of+Compliance&va=Lab")
    assert "2 product instances." in html and "SN:B2" in html and "SN:A1" in html
    assert "0 product instances." in admin.get(f"{ACME}/devices?va=Spare")
    admin.get(f"{ACME}/devices?after=not-a-udi", status=400)

    detail = admin.get(f"{ACME}/devices/PID:C9300-24T,SN:B2")
    assert "Out Of Compliance" in detail and TAG in detail and "Certificate expires" in detail
    # Bad input is reported next to the field and changes nothing.
    status, html = admin.post(f"{ACME}/devices/PID:C9300-24T,SN:B2/transfer", {"target": "Nope"})
    assert status == 400 and 'id="target-err"' in html
    # Transfer to Spare: the device moves with its usage; Lab is back in compliance.
    admin.post(f"{ACME}/devices/PID:C9300-24T,SN:B2/transfer", {"target": "Spare"}, status=302)
    detail = admin.get(f"{ACME}/devices/PID:C9300-24T,SN:B2")
    assert re.search(r'id="device-va">Spare<', detail)
    assert "SN:B2" in admin.get(f"{ACME}/devices?va=Spare")
    # A1 has not called since, yet shows what its pool gives now, and when it last heard.
    a1 = admin.get(f"{ACME}/devices/PID:C9300-24T,SN:A1")
    assert 'id="device-status">Authorized<' in a1
    assert "the device last heard its answer at" in a1
    admin.post(f"{ACME}/devices/PID:C9300-24T,SN:A1/remove", {}, status=302)
    assert "Removed PID:C9300-24T,SN:A1" in admin.get(f"{ACME}/devices")
    admin.get(f"{ACME}/devices/PID:C9300-24T,SN:NOPE", status=404)

    dashboard = admin.get(f"{ACME}/")
    assert "Product Instances by status" in dashboard and "Events waiting" not in dashboard
    assert "Pending events" in dashboard


def test_tokens_create_list_copy_button_and_revoke(admin: Browser, lab: str) -> None:
    html = admin.get(f"{ACME}/tokens?va=Lab")
    assert lab in html and 'class="copy" data-copy="token-' in html and "bench" in html
    status, html = admin.post(f"{ACME}/tokens/create",
                              {"va": "Lab", "expires_days": "0", "max_uses": "x"})
    assert status == 400 and 'id="expires_days-err"' in html and 'id="max_uses-err"' in html
    assert html.count("token-secret") == 1  # nothing was created
    admin.post(f"{ACME}/tokens/create", {"va": "Lab", "expires_days": "7", "max_uses": "3",
                                         "export_controlled": "y", "description": "racks"},
               status=302)
    html = admin.get(f"{ACME}/tokens?va=Lab")
    assert html.count("token-secret") == 2 and "racks" in html and "0 of 3" in html
    match = re.search(r'/tokens/Lab/(\d+)/revoke', html)
    assert match
    admin.post(f"{ACME}/tokens/Lab/{match.group(1)}/revoke", {}, status=302)
    assert "revoked" in admin.get(f"{ACME}/tokens?va=Lab")
    admin.post(f"{ACME}/tokens/Lab/9999/revoke", {}, status=302)
    assert "has no token 9999" in admin.get(f"{ACME}/tokens?va=Lab")


def test_alerts_page_and_dashboard(admin: Browser, db: Database, settings: Settings) -> None:
    from satellite.alerts.channels import add_channel

    with db.uow() as uow:
        account = find_va(uow.session, "Acme", "Lab")[0]
        add_channel(uow, Actor("cli", "tester"), TokenSealer.for_data_dir(settings.data_dir),
                    account.domain, "ops", "email", "ops@acme.example")
        raise_alert(uow.session, "test:1", "sync_overdue", "Nothing heard from Central",
                    datetime(2026, 3, 1, tzinfo=UTC), account.id)
        uow.commit()
    page = admin.get(f"{ACME}/alerts")
    assert "Nothing heard from Central" in page
    assert "<td>critical</td>" in page and "ops (email): pending" in page
    assert "Nothing heard from Central" in admin.get(f"{ACME}/")
    assert "<h1" in admin.get(f"{ACME}/alerts?cleared=1")


def test_sync_status_and_export_download(admin: Browser, db: Database, settings: Settings) -> None:
    html = admin.get("/sync")
    assert "Events waiting for Central" in html and "Export and download" in html
    # Not registered yet: the refusal is shown and nothing is downloaded.
    status, html = admin.post("/sync/export", {})
    assert status >= 400 and "not registered" in html
    with db.uow() as uow:
        mark_registered(uow.session, "central-test", b"")
        uow.commit()
    response = admin.client.post("/sync/export", data={"exp-csrf_token": admin.token})
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.get_data()
    response.close()
    assert not list((settings.data_dir / "uploads").glob("export-*"))


def test_import_preview_shows_the_dry_run_difference_then_applies(
        admin: Browser, db: Database, settings: Settings, tmp_path: Path) -> None:
    central = Central(keys.generate_private_key(), b"")
    central.public_pem = keys.public_key_to_pem(keys.public_key_of(central.key))
    open_keystore(settings).record_central_key(parse_central_key(central.public_pem, "test"))
    with db.reader() as uow:
        satellite_id = get_state(uow.session, "satellite_id") or ""
    path = tmp_path / "response.bundle"
    record = {"type": "entitlement", "line_id": "ent-1", "account": "acme.example.com",
              "va": "Lab", "tag": TAG, "display_name": "Router", "license_type": "PERPETUAL",
              "quantity": 4, "start_date": None, "end_date": None, "subscription_id": "S1",
              "export_controlled": False}
    write_bundle(path, kind=CENTRAL_RESPONSE, sender=central.sender, recipient=satellite_id,
                 serial=1, created_at=datetime(2026, 3, 1, tzinfo=UTC), signer=Signer(central.key),
                 records=[record], fields={"entitlements": SNAPSHOT})
    admin.get("/sync")
    with path.open("rb") as f:
        status, html = admin.post("/sync/preview", {"imp-csrf_token": admin.token,
                                                    "imp-bundle": (f, "response.bundle")},
                                  content_type="multipart/form-data")
    assert status == 200, html[:3000]
    assert "What applying it would change" in html and "1 lines added" in html
    assert "acme.example.com / Lab</td><td class=\"num\">1<" in html
    # The trial run changed nothing.
    assert TAG not in admin.get(f"{ACME}/licenses")
    upload = re.search(r'name="upload" type="hidden" value="([0-9a-f]+)"', html)
    assert upload
    admin.post("/sync/apply", {"upload": upload.group(1)}, status=302)
    assert TAG in admin.get(f"{ACME}/licenses")
    history = admin.get("/sync").split('id="sync-history"')[1]
    assert "<td>import</td><td>from Central</td>" in history
    assert "1 lines added, 0 updated, 0 removed" in history


def test_a_va_viewer_sees_only_its_va_and_no_token_secrets(
        app: Flask, browser: Browser, db: Database, clock: FixedClock, lab: str) -> None:

    _device(app, clock, lab, "L1")
    _signed_in_with_role(db, browser, "vic", "va_viewer", "Spare")
    html = browser.get(f"{ACME}/devices")
    assert "0 product instances." in html and "SN:L1" not in html and '<option value="">All' not in html
    browser.get(f"{ACME}/devices?va=Lab", status=404)
    browser.get(f"{ACME}/devices/PID:C9300-24T,SN:L1", status=404)
    html = browser.get(f"{ACME}/tokens")
    assert 'method="post"' not in html.replace('method="post" action="/sign-out"', "")
    browser.get(f"{ACME}/tokens?va=Lab", status=404)
    assert lab not in html
    status, _ = browser.post(f"{ACME}/tokens/Lab/1/revoke")
    assert status == 404
    html = browser.get("/sync")
    assert "Export and download" not in html
    status, _ = browser.post("/sync/export", {"exp-csrf_token": browser.token})
    assert status == 403
    dashboard = browser.get(f"{ACME}/")
    assert "Product Instances by status" not in dashboard and "Sync with Central" not in dashboard
    assert "shown to those who may see all" in browser.get(f"{ACME}/alerts")


def test_dashboard_draws_consumption_over_time_with_a_table(
        admin: Browser, db: Database, clock: FixedClock, lab: str, app: Flask) -> None:
    from satellite.licenses.usage_history import snapshot_usage

    html = admin.get(f"{ACME}/")
    assert "No consumption history yet" in html
    device = _device(app, clock, lab, "H1")
    # Snapshots an hour apart (the session would time out if the clock moved that far).
    for used, hours_ago in ((1, 1), (2, 0)):
        device.report({TAG: used})
        with db.uow() as uow:
            snapshot_usage(uow, clock.now() - timedelta(hours=hours_ago), 400)
            uow.commit()
    html = admin.get(f"{ACME}/")
    assert '<figure class="history">' in html
    assert f"<title id=\"hist-1-t\">{TAG}</title>" in html
    assert f"{TAG}: 2 used of 1 at the end, highest use 2" in html
    assert re.search(r'<polyline points="[\d., ]+" class="line-used">', html)
    assert '<td class="num">1</td><td class="num">2</td><td class="num">0</td>' in html
    assert "aria-current=\"page\">30 days" in admin.get(f"{ACME}/?history=30d")
    admin.get(f"{ACME}/?history=1y", status=400)


def test_export_downloads_with_a_relative_data_dir_as_make_run_uses(
        db: Database, settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    from satellite.config import load_settings
    from satellite.web import create_app

    with db.uow() as uow:
        mark_registered(uow.session, "central-test", b"")
        uow.commit()
    # `make run` passes `--data-dir var`: the server's working directory holds the data.
    monkeypatch.chdir(settings.data_dir.parent)
    relative = load_settings(data_dir=settings.data_dir.name, env={},
                             overrides={"database_url": settings.database_url})
    browser = Browser(create_app(relative, db).test_client())
    browser.sign_in()
    browser.get("/sync")
    response = browser.client.post("/sync/export", data={"exp-csrf_token": browser.token})
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    assert response.get_data()
    response.close()


def test_dashboard_and_sync_page_agree_on_the_last_success(
        admin: Browser, db: Database) -> None:
    from satellite.state import set_state

    with db.uow() as uow:
        set_state(uow.session, "sync.last_import_at", "2026-03-01T10:00:00+00:00")
        uow.commit()
    sync = admin.get("/sync").split('id="sync-status"')[1]
    dashboard = admin.get(f"{ACME}/").split("Sync with Central")[1]
    for page in (sync, dashboard):
        assert re.search(r"<dt>Last success</dt><dd><time datetime=\"2026-03-01T10:00:00Z\"", page)
    # A later network exchange is the later success, on both.
    with db.uow() as uow:
        set_state(uow.session, "sync.last_success_at", "2026-03-02T08:00:00+00:00")
        uow.commit()
    for page in (admin.get("/sync"), admin.get(f"{ACME}/")):
        assert re.search(r"<dt>Last success</dt><dd><time datetime=\"2026-03-02T08:00:00Z\"", page)


def test_the_tokens_page_shows_the_tokens_of_every_va(
        admin: Browser, browser: Browser, db: Database, settings: Settings, lab: str) -> None:

    sealer = TokenSealer.for_data_dir(settings.data_dir)
    with db.uow() as uow:
        spare = create_token(uow, SETUP, sealer, "Acme", "Spare", description="spares")
        uow.commit()
    html = admin.get(f"{ACME}/tokens")
    assert lab in html and spare.secret in html and "bench" in html and "spares" in html
    assert html.count("Revoke") == 2 and 'id="create-token"' in html
    # One VA still narrows the list.
    only = admin.get(f"{ACME}/tokens?va=Spare")
    assert spare.secret in only and lab not in only

    # A VA admin of Spare sees (and may manage) Spare's tokens only, without choosing it first.
    admin.client.post("/sign-out", data={"csrf_token": admin.token})
    _signed_in_with_role(db, browser, "vera", "va_admin", "Spare")
    mine = browser.get(f"{ACME}/tokens")
    assert spare.secret in mine and lab not in mine and "bench" not in mine
    assert mine.count("Revoke") == 1 and 'id="create-token"' in mine

"""In a real browser: downloads of the lists, the audit search, alert channels, the
reservation setting, times in the viewer's zone and the same navigation everywhere."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from satellite.accounts.service import create_va
from satellite.actor import Actor
from satellite.bootstrap import open_database
from satellite.config import load_settings
from tests.devices.helpers import TAG, add_lines
from tests.serving import Server, run_satellite, satellite_env, serving
from tests.web.ui.browser import require_chromium

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
PASSWORD = "browser test password 2"
ACME = "/a/acme.example.com"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    require_chromium()
    root = tmp_path_factory.mktemp("ui-reports")
    env = satellite_env(root / "data", "")
    (root / "pw").write_text(PASSWORD + "\n")
    run_satellite(env, "init", "--admin-password-file", str(root / "pw"))
    run_satellite(env, "account", "create", "Acme", "--domain", "acme.example.com")
    run_satellite(env, "account", "create", "Beta", "--domain", "beta.example.com")
    db = open_database(load_settings(data_dir=root / "data", env={}))
    with db.uow() as uow:
        setup = Actor("cli", "setup")
        lab = create_va(uow, setup, "acme.example.com", "Lab")
        create_va(uow, setup, "beta.example.com", "Plant")
        uow.session.flush()
        # Test data: in production, lines arrive only through signed sync from Central.
        add_lines(uow.session, lab.id, TAG, 3)
        uow.commit()
    db.dispose()
    with serving(env, root) as running:
        yield running


@pytest.fixture
def page(server: Server, chromium: Any) -> Iterator[Any]:
    context = chromium.new_context(timezone_id="Asia/Tokyo", accept_downloads=True)
    page = context.new_page()
    page.goto(server.url + "/sign-in")
    page.get_by_label("User name").fill("admin")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()
    page.goto(server.url + ACME + "/")
    yield page
    context.close()


def test_lists_download_as_csv_with_their_filters(server: Server, page: Any) -> None:
    page.get_by_role("link", name="Licenses", exact=True).click()
    page.get_by_label("Text").fill("router")
    page.get_by_role("button", name="Filter").click()
    with page.expect_download() as download:
        page.locator(".downloads").get_by_role("link", name="CSV").click()
    assert download.value.suggested_filename == "licenses-acme.example.com.csv"
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    # 3 lines were added; another test of this module may move one to another account.
    assert [(r["virtual_account"], r["license"]) for r in rows] == [("Lab", TAG)]
    assert rows[0]["quantity"] in ("2", "3")
    page.get_by_role("link", name="Product Instances").click()
    with page.expect_download() as download:
        page.locator(".downloads").get_by_role("link", name="JSON").click()
    assert Path(download.value.path()).read_text().startswith('{"product-instances": [')


def test_audit_search_and_times_in_the_viewers_zone(server: Server, page: Any) -> None:
    # The same navigation on a page of no account, with the account last viewed.
    page.get_by_role("link", name="Audit log").click()
    page.wait_for_url("**/audit")
    assert page.get_by_role("link", name="Product Instances").is_visible(), page.content()[:3000]
    assert page.get_by_role("link", name="Devices", exact=True).count() == 0
    page.get_by_label("Action starts with").fill("account.create")
    page.get_by_role("button", name="Search").click()
    page.wait_for_load_state()
    rows = page.locator("table tbody tr")
    assert rows.count() == 2
    assert {"acme.example.com", "beta.example.com"} <= set(
        re.findall(r"\w+\.example\.com", rows.all_inner_texts().__str__()))
    # The page's script rewrites each time once the document has loaded; wait for it.
    first = page.locator("table tbody tr time[data-local]").first
    first.wait_for()
    utc = datetime.strptime(first.get_attribute("title"), "%Y-%m-%d %H:%M:%S UTC")
    shown = first.inner_text()
    # Tokyo is nine hours ahead of UTC, with no daylight saving time.
    local = utc.replace(hour=(utc.hour + 9) % 24)
    assert f"{local:%H:%M}" in shown
    assert "UTC" not in shown and "." not in first.get_attribute("datetime")
    page.get_by_label("User", exact=True).fill("nobody-at-all")
    page.get_by_role("button", name="Search").click()
    assert "No events match." in page.locator("table").inner_text()


def test_alert_channels_and_reservation_setting(server: Server, page: Any) -> None:
    page.get_by_role("link", name="Alerts", exact=True).click()
    page.get_by_role("link", name="Delivery channels").click()
    page.get_by_label("Name").fill("ops-mail")
    page.get_by_label("Kind").select_option("email")
    page.get_by_label("Target").fill("noc@example.com")
    page.get_by_role("button", name="Add channel").click()
    assert "Added email channel 'ops-mail'." in page.locator(".flashes").inner_text()
    assert "noc@example.com" in page.locator("table.channels").inner_text()
    page.get_by_role("button", name="Remove").click()
    assert "Removed channel 'ops-mail'" in page.locator(".flashes").inner_text()

    page.get_by_role("link", name="Reservations", exact=True).click()
    page.get_by_label("Reservations allowed for Acme").select_option("specific")
    page.get_by_role("button", name="Save").click()
    assert "Reservations for Acme: specific." in page.locator(".flashes").inner_text()


def test_system_page_shows_job_intervals_in_seconds(server: Server, page: Any) -> None:
    page.get_by_role("link", name="System").click()
    text = page.locator("table").inner_text()
    assert " min" not in text and re.search(r"\b3600 s\b", text)
    assert "TLS certificate" in page.locator("#tls").inner_text()


def test_registration_download_and_a_transfer_to_another_account(server: Server,
                                                                 page: Any) -> None:
    page.get_by_role("link", name="Sync", exact=True).click()
    with page.expect_download() as download:
        page.get_by_role("button", name="Download registration request").click()
    assert download.value.suggested_filename.startswith("registration-request-")
    assert Path(download.value.path()).stat().st_size > 100
    assert page.locator("#sync-now").count() == 0  # no central_url: files carried by hand

    page.get_by_role("link", name="Licenses", exact=True).click()
    section = page.locator("#transfer-account")
    section.get_by_label("From virtual account").select_option("Lab")
    section.get_by_label("To account").select_option("beta.example.com")
    section.get_by_label("To its virtual account").fill("Plant")
    section.get_by_label("License tag").fill(TAG)
    section.get_by_label("Quantity").fill("1")
    section.get_by_role("button", name="Transfer to account").click()
    assert "Moved 1 x" in page.locator(".flashes").inner_text()
    page.goto(server.url + "/a/beta.example.com/licenses")
    assert "Plant" in page.locator("table.pools").inner_text()

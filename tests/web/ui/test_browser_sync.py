"""In a real browser: a response made by the reference Central is previewed, then applied; the
consumption chart, the sync history and the settings page are there."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.serving import Server, run_satellite, satellite_env, serving
from tests.web.ui.browser import require_chromium

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
PASSWORD = "browser test password 1"
TAG = "regid.2024-01.com.example.router-advantage"
BIN = Path(sys.executable).parent


def _central(*args: str) -> None:
    result = subprocess.run([str(BIN / "satellite-central"), *args], capture_output=True,
                            text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, dict[str, str], Path]]:
    """A served satellite trusting a reference Central, and Central's answer to carry in."""
    require_chromium()
    root = tmp_path_factory.mktemp("ui-sync")
    central = root / "central"
    _central("init", "--dir", str(central))
    env = satellite_env(root / "data", "", {"SATELLITE_DEVICE_URL": "https://sat.example.com"})
    (root / "pw").write_text(PASSWORD + "\n")
    run_satellite(env, "init", "--admin-password-file", str(root / "pw"),
                  "--central-key", str(central / "central.pub"))
    run_satellite(env, "account", "create", "Acme", "--domain", "acme.example.com")
    run_satellite(env, "va", "create", "acme.example.com", "Lab")
    satellite_id = json.loads(run_satellite(env, "status", "--json").stdout)["satellite_id"]
    _central("entitle", "--dir", str(central), "--account", "acme.example.com", "--va", "Lab",
             "--tag", TAG, "--quantity", "10", "--type", "PERPETUAL")
    bundle = root / "response.bundle"
    _central("respond", "--dir", str(central), "--satellite", satellite_id, "--out", str(bundle))
    with serving(env, root) as running:
        yield running, env, bundle


def test_import_a_central_response_after_its_preview(
        site: tuple[Server, dict[str, str], Path], chromium: Any) -> None:
    srv, env, bundle = site
    context = chromium.new_context()
    page = context.new_page()
    page.goto(srv.url + "/sign-in")
    page.get_by_label("User name").fill("admin")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/a/acme.example.com/")
    assert "No consumption history yet" in page.locator("#history").inner_text()

    page.get_by_role("link", name="Sync", exact=True).click()
    page.locator("form[action='/sync/preview']").get_by_label("Sync file").set_input_files(bundle)
    page.get_by_role("button", name="Preview").click()
    page.wait_for_url("**/sync/preview")
    difference = page.locator("#difference")
    assert "1 lines added, 0 updated, 0 unchanged, 0 removed." in difference.inner_text()
    assert difference.get_by_role("row").filter(has_text="acme.example.com / Lab") \
        .get_by_role("cell").nth(1).inner_text() == "1"
    assert "(this satellite)" in page.locator("dl.facts").inner_text()

    # The preview changed nothing: the licenses page has no pool yet.
    preview_url = page.url
    licenses = context.new_page()
    licenses.goto(srv.url + "/a/acme.example.com/licenses")
    assert TAG not in licenses.locator("main").inner_text()
    assert page.url == preview_url

    page.get_by_role("button", name="Apply this response").click()
    page.wait_for_url("**/sync")
    assert "lines added" in page.locator(".flashes").inner_text()
    history = page.locator("#sync-history")
    assert history.get_by_role("row").nth(1).get_by_role("cell").nth(1).inner_text() == "import"
    assert "ok" in history.get_by_role("row").nth(1).inner_text()
    licenses.reload()
    assert TAG in licenses.locator("main").inner_text()

    # An hour's snapshot (taken now on demand) draws the consumption chart.
    run_satellite(env, "maintenance", "snapshot-usage")
    page.goto(srv.url + "/a/acme.example.com/")
    assert page.locator("#history figure.history svg").count() == 1
    chart = page.get_by_role("img", name=TAG, exact=True)
    assert chart.get_attribute("aria-describedby") == "hist-1-d"
    assert chart.locator("polyline.line-used").count() == 1
    assert "0 used of 10" in page.locator("#history figcaption").inner_text()
    page.locator("#history summary").click()
    assert page.locator("#history table").get_by_role("row").nth(1).get_by_role("cell") \
        .nth(1).inner_text() == "10"
    context.close()


def test_the_settings_page_names_values_and_their_source(
        site: tuple[Server, dict[str, str], Path], chromium: Any) -> None:
    srv, _, _ = site
    context = chromium.new_context()
    page = context.new_page()
    page.goto(srv.url + "/sign-in")
    page.get_by_label("User name").fill("admin")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/a/acme.example.com/")
    page.get_by_role("link", name="Settings").click()
    row = page.locator("#setting-device_url")
    assert "https://sat.example.com" in row.inner_text()
    assert "environment SATELLITE_DEVICE_URL" in row.inner_text()
    assert "default" in page.locator("#setting-certificate_days").inner_text()
    context.close()

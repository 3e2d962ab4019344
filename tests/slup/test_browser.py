"""In a real browser: usage files uploaded on a VA's page, the devices they created, their
reports and access points, and an ACK file downloaded from the device's page."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.serving import run_satellite, satellite_env, serving
from tests.slup.files import AP_TAG, measurement, nested, report, usage_file
from tests.web.ui.browser import launched

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
PASSWORD = "browser test password 1"
T0 = 1_700_000_000


@pytest.fixture
def chromium() -> Iterator[Any]:
    with launched() as browser:
        yield browser


def test_upload_usage_on_the_va_page_and_download_the_ack(tmp_path: Path, chromium: Any) -> None:
    env = satellite_env(tmp_path / "data", "")
    (tmp_path / "pw").write_text(PASSWORD + "\n")
    run_satellite(env, "init", "--admin-password-file", str(tmp_path / "pw"))
    run_satellite(env, "account", "create", "Acme", "--domain", "acme.example.com")
    run_satellite(env, "va", "create", "acme.example.com", "Wireless")
    usage = tmp_path / "usage.txt"
    usage.write_bytes(usage_file(report("C9800-40-K9", "FOX77", 1, AP_TAG, [
        measurement(T0, T0 + 3600, 2, added_sudi_list=["AP-1", "AP-2"]),
        measurement(T0 + 3600, T0 + 7200, 3, added_sudi_list=["AP-3"],
                    removed_sudi_list=["AP-0"])], ha=[{"role": "standby", "sudi": {
                        "udi_pid": "C9800-40-K9", "udi_serial_number": "FOX78"}}])))

    with serving(env, tmp_path) as srv:
        page = chromium.new_context(accept_downloads=True).new_page()
        page.goto(srv.url + "/sign-in")
        page.get_by_label("User name").fill("admin")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/a/acme.example.com/")
        page.goto(srv.url + "/a/acme.example.com/virtual-accounts/Wireless")
        page.get_by_label("Usage files").set_input_files(usage)
        page.get_by_role("button", name="Import usage reports").click()
        page.wait_for_url("**/virtual-accounts/Wireless")
        assert "1 reports (1 new, 0 already known) from 1 devices (1 new)" in \
            page.locator(".flashes").inner_text()

        page.goto(srv.url + "/a/acme.example.com/devices")
        row = page.get_by_role("row").filter(has_text="FOX77")
        assert "SLUP" in row.inner_text() and "1 awaiting ACK" in row.inner_text()
        row.get_by_role("link").click()
        reports = page.get_by_role("table", name="RUM reports")
        text = reports.inner_text()
        assert "added AP-3" in text and "removed AP-0" in text and "C9800-40-K9:FOX78" in text
        assert "17.9.4" in text and reports.get_by_role("cell").nth(3).inner_text() == "3"
        assert "none yet" in page.locator("#slup").inner_text()

        ack = json.dumps({"data": json.dumps({"sudi": {"udi_pid": "C9800-40-K9",
                                                       "udi_serial_number": "FOX77"}}),
                          "signature": {}})
        archive = tmp_path / "ACK_UD_SA_Acme.tar.gz"
        archive.write_bytes(nested({}, "ACK_UD_VA_Wireless_1.tar.gz", {
            "ACK_dev_1_1700000000.txt": f"<smartLicense><smartLicenseRumAck><![CDATA[{ack}]]>"
                                        "</smartLicenseRumAck></smartLicense>".encode()}))
        run_satellite(env, "slup", "import-ack", str(archive))
        page.reload()
        with page.expect_download() as got:
            page.get_by_role("link", name="Download ACK file").click()
        downloaded = Path(got.value.path()).read_text()
        assert got.value.suggested_filename == "ACK_C9800-40-K9_FOX77.txt"
        assert ack in downloaded

"""The web UI in a real browser against a real `satellite serve`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from satellite.access.grants import grant
from satellite.accounts.service import create_va
from satellite.actor import Actor
from satellite.agent.client import DeviceClient
from satellite.agent.reservation import ReservationDevice
from satellite.agent.transport import Transport
from satellite.bootstrap import open_database
from satellite.central import service as central
from satellite.central.ingest import ingest
from satellite.config import load_settings
from satellite.crypto import keys
from satellite.reservation import checksum, files
from satellite.users.service import create_user
from tests.devices.helpers import TAG, add_lines
from tests.serving import Server, run_satellite, satellite_env, serving
from tests.web.ui.browser import require_chromium

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
PASSWORD = "browser test password 1"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, dict[str, str]]]:
    require_chromium()
    root = tmp_path_factory.mktemp("ui")
    env = satellite_env(root / "data", "")
    (root / "pw").write_text(PASSWORD + "\n")
    # Registered with a reference Central, whose key the devices trust.
    central_dir = root / "central"
    central.init_central(central_dir, datetime.now(UTC))
    run_satellite(env, "init", "--admin-password-file", str(root / "pw"), "--central-key",
                  str(central_dir / central.PUB_FILE))
    run_satellite(env, "sync", "register", "--out", str(root / "register.bundle"))
    ingest(central_dir, root / "register.bundle", datetime.now(UTC), central.load_root(central_dir))
    satellite_id = json.loads(run_satellite(env, "status", "--json").stdout)["satellite_id"]
    central.respond(central_dir, satellite_id, root / "response.bundle", datetime.now(UTC))
    run_satellite(env, "sync", "import", str(root / "response.bundle"))
    run_satellite(env, "account", "create", "Acme", "--domain", "acme.example.com")
    run_satellite(env, "account", "set", "acme.example.com", "--reservation", "both")
    settings = load_settings(data_dir=root / "data", env={})
    db = open_database(settings)
    with db.uow() as uow:
        setup = Actor("cli", "setup")
        create_user(uow, setup, "vera", PASSWORD)
        grant(uow, setup, "vera", "account_viewer", "acme.example.com")
        # Test data: in production, lines arrive only through signed sync from Central.
        lab = create_va(uow, setup, "acme.example.com", "Lab")
        spare = create_va(uow, setup, "acme.example.com", "Spare")
        uow.session.flush()
        add_lines(uow.session, lab.id, TAG, 1)
        add_lines(uow.session, spare.id, TAG, 5)
        uow.commit()
    db.dispose()
    with serving(env, root) as running:
        yield running, env


def _sign_in(page: Any, url: str, user: str) -> None:
    page.goto(url + "/sign-in")
    page.get_by_label("User name").fill(user)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_operator_flow(server: tuple[Server, dict[str, str]], chromium: Any,
                       tmp_path: Path) -> None:
    srv, env = server
    context = chromium.new_context()
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = context.new_page()
    _sign_in(page, srv.url, "admin")
    page.wait_for_url("**/a/acme.example.com/")
    assert page.get_by_role("heading", level=1).inner_text().startswith("Acme")

    page.get_by_role("link", name="Virtual accounts").click()
    page.get_by_label("Name", exact=True).fill("Plant")
    page.get_by_role("button", name="Create").click()
    assert "Virtual account Plant created." in page.locator(".flashes").inner_text()

    # A request code typed with one wrong character: the page names and marks its position.
    code = ReservationDevice(tmp_path / "device").request("ROUTER-9000", "SN42")
    values = [c for c in code if c != "-"]
    wrong = "1" if values[9] != "1" else "2"
    typo = checksum.group("".join([*values[:9], wrong, *values[10:]]))
    page.get_by_role("link", name="Reservations").click()
    page.get_by_label("Request code from the device").fill(typo)
    check = page.locator(".code-check")
    assert "position 10 (group 2, character 5)" in check.inner_text()
    assert check.locator("mark").inner_text() == wrong
    page.get_by_label("Request code from the device").fill(code)
    assert check.inner_text() == "Checksum correct."
    page.get_by_label("Permanent (PLR): everything").check()
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url("**/reservations/ROUTER-9000:SN42")
    authorization = page.locator("#auth-code").inner_text().strip()
    assert authorization.startswith("A")
    page.get_by_role("button", name="Copy").click()
    assert page.evaluate("navigator.clipboard.readText()") == authorization
    device = ReservationDevice(tmp_path / "device")
    anchor = Path(env["SATELLITE_DATA_DIR"]).parent / "central" / central.PUB_FILE
    device.trust_anchor(anchor.read_bytes(), str(anchor))
    # The downloaded file carries the certificate chain the device verifies the code with.
    with page.expect_download() as download:
        page.get_by_role("link", name="Download file (code and chain)").click()
    assert device.install(Path(download.value.path()).read_text()).authorization.kind == "PLR"
    with page.expect_download() as chain_download:
        page.get_by_role("link", name="certificate chain").click()
    chain = Path(chain_download.value.path()).read_text()
    installed = device.installed()
    assert installed is not None
    assert device.add_chain(files.read_chain(chain)).key_id == installed.key_id
    assert device.install(authorization).already_installed

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/sign-in")
    page.goto(srv.url + "/a/acme.example.com/licenses")
    assert page.url.endswith("/sign-in")
    context.close()


def test_a_viewer_sees_no_forms_and_a_forged_post_is_refused(
        server: tuple[Server, dict[str, str]], chromium: Any) -> None:
    srv, _ = server
    context = chromium.new_context()
    page = context.new_page()
    _sign_in(page, srv.url, "vera")
    page.wait_for_url("**/a/acme.example.com/")
    page.goto(srv.url + "/a/acme.example.com/virtual-accounts")
    assert page.locator("main form[method=post]").count() == 0
    page.goto(srv.url + "/a/acme.example.com/reservations")
    assert page.locator("main form[method=post]").count() == 0
    page.goto(srv.url + "/a/acme.example.com/tokens")
    assert page.locator("main form[method=post]").count() == 0
    # Posting anyway, with the session's own CSRF token: the service refuses it.
    token = page.locator("header input[name=csrf_token]").get_attribute("value")
    answer = page.request.post(srv.url + "/a/acme.example.com/virtual-accounts",
                               form={"csrf_token": token, "name": "Nope", "parent": ""})
    assert answer.status in (403, 404)
    # And without the token the request is refused before any service is asked.
    answer = page.request.post(srv.url + "/a/acme.example.com/virtual-accounts",
                               form={"name": "Nope", "parent": ""})
    assert answer.status == 400
    context.close()


def test_a_token_is_created_and_copied_and_a_device_goes_out_of_compliance_and_back(
        server: tuple[Server, dict[str, str]], chromium: Any) -> None:
    srv, _ = server
    context = chromium.new_context()
    context.grant_permissions(["clipboard-read", "clipboard-write"])
    page = context.new_page()
    _sign_in(page, srv.url, "admin")
    page.wait_for_url("**/a/acme.example.com/")
    page.get_by_role("link", name="Tokens").click()
    create = page.locator("#create-token")
    create.get_by_label("Virtual account").select_option("Lab")
    create.get_by_label("Description").fill("rack 4")
    create.get_by_label("Maximum uses (empty: unlimited)").fill("5")
    create.get_by_role("button", name="Create token").click()
    assert "Created token" in page.locator(".flashes").inner_text()
    row = page.get_by_role("row").filter(has_text="rack 4")
    secret = row.locator("code.token-secret").inner_text().strip()
    row.get_by_role("button", name="Copy").click()
    assert page.evaluate("navigator.clipboard.readText()") == secret

    # A device registers with the copied token and uses 2 where Lab holds 1.
    transport = Transport(srv.url)
    device = DeviceClient(transport, keys.generate_private_key())
    device.register(secret, "C9300-24T", "BRWS1", hostname="sw-browser")
    assert device.report({TAG: 2})["status"] == "OUT_OF_COMPLIANCE"
    page.get_by_role("link", name="Product Instances").click()
    page.get_by_label("UDI, serial number, hostname or tag").fill("sw-browser")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="PID:C9300-24T,SN:BRWS1").click()
    assert page.locator("#device-status").inner_text() == "Out Of Compliance"

    # Transferred to Spare, which holds 5: at its next report the device is authorized.
    page.get_by_label("Move to virtual account").select_option("Spare")
    page.get_by_role("button", name="Transfer").click()
    assert "Moved PID:C9300-24T,SN:BRWS1 to Spare." in page.locator(".flashes").inner_text()
    assert page.locator("#device-va").inner_text() == "Spare"
    assert device.report({TAG: 2})["status"] == "AUTHORIZED"
    page.reload()
    assert page.locator("#device-status").inner_text() == "Authorized"
    transport.close()
    context.close()

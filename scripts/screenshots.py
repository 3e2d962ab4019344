"""Make docs/screenshots/*.png: a fresh appliance with sample data, served and photographed
by Debian's chromium (the same browser the tests drive). Run with `make screenshots`."""

from __future__ import annotations

import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path

from playwright.sync_api import sync_playwright

from satellite.accounts.models import VirtualAccount
from satellite.accounts.service import create_va, get_account
from satellite.actor import Actor
from satellite.agent.client import DeviceClient
from satellite.agent.transport import Transport
from satellite.bootstrap import open_database
from satellite.config import load_settings
from satellite.crypto import keys
from satellite.licenses.models import LicenseLine
from satellite.licenses.usage import set_usage
from satellite.licenses.usage_history import snapshot_usage
from satellite.tokens.secrets import TokenSealer
from satellite.tokens.service import create_token
from tests.serving import run_satellite, satellite_env, serving
from tests.web.ui.browser import ARGS, CHROMIUM

OUT = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
PASSWORD = "screenshot password 1"  # noqa: S105 (a throwaway demo appliance)
PAGES = [("dashboard", "/a/acme.example.com/"),
         ("virtual-accounts", "/a/acme.example.com/virtual-accounts"),
         ("licenses", "/a/acme.example.com/licenses"),
         ("devices", "/a/acme.example.com/devices"),
         ("tokens", "/a/acme.example.com/tokens?va=Lab"),
         ("reservations", "/a/acme.example.com/reservations"),
         ("sync", "/sync"),
         ("settings", "/settings"),
         ("audit", "/audit"),
         ("system", "/system")]


def _devices(url: str, token: str) -> None:
    """A few devices registered through the device protocol, one beyond its pool."""
    transport = Transport(url)
    for i, count in enumerate((2, 2, 2)):
        device = DeviceClient(transport, keys.generate_private_key())
        device.register(token, "ASA-5506", f"JMX{1000 + i}", hostname=f"fw-{i + 1}.plant")
        device.report({"regid.2024-01.com.example.firewall-threat": count})
    transport.close()


def _sample(data_dir: Path) -> str:
    db = open_database(load_settings(data_dir=data_dir, env={}))
    setup = Actor("cli", "setup")
    today = date.today()
    with db.uow() as uow:
        for name, parent in (("Plant", None), ("Line 1", "Plant"), ("Lab", None)):
            create_va(uow, setup, "acme.example.com", name, parent)
        account = get_account(uow.session, "acme.example.com")
        vas = {va.name: va for va in uow.session.query(VirtualAccount).filter_by(
            account_id=account.id)}
        lines = [("Default", "regid.2024-01.com.example.router-advantage", "PERPETUAL", 50, None),
                 ("Plant", "regid.2024-01.com.example.router-advantage", "TERM", 20, 60),
                 ("Line 1", "regid.2024-01.com.example.switch-essentials", "TERM", 10, 400),
                 ("Lab", "regid.2024-01.com.example.firewall-threat", "DEMO", 5, 30)]
        for i, (va, tag, kind, qty, days) in enumerate(lines):
            uow.session.add(LicenseLine(
                va_id=vas[va].id, tag=tag, license_type=kind, quantity=qty,
                start_date=None if days is None else today - timedelta(days=30),
                end_date=None if days is None else today + timedelta(days=days),
                origin_id=f"sample-{i}"))
        uow.session.flush()
        router = (vas["Default"].id, "regid.2024-01.com.example.router-advantage")
        switch = (vas["Line 1"].id, "regid.2024-01.com.example.switch-essentials")
        # A week of hourly history: use grows until the switches outgrow their pool.
        now = uow.clock.now()
        for hours_ago in range(7 * 24, 0, -1):
            grown = 1 - hours_ago / (7 * 24)
            set_usage(uow.session, "device:sample-1", "in_use",
                      {router: 20 + round(18 * grown) + (hours_ago % 24 > 12) * 3,
                       switch: 6 + round(7 * grown)})
            snapshot_usage(uow, now - timedelta(hours=hours_ago), 400)
        set_usage(uow.session, "device:sample-1", "in_use", {router: 38, switch: 13})
        snapshot_usage(uow, now, 400)
        token = create_token(uow, setup, TokenSealer.for_data_dir(data_dir), "acme.example.com",
                             "Lab", max_uses=50, description="firewalls, building 2")
        uow.commit()
    db.dispose()
    return token.secret


def main() -> int:
    if not CHROMIUM.exists():
        print(f"{CHROMIUM} is missing: install Debian's chromium package", file=sys.stderr)
        return 1
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        env = satellite_env(root / "data", "")
        (root / "pw").write_text(PASSWORD + "\n")
        run_satellite(env, "init", "--admin-password-file", str(root / "pw"))
        run_satellite(env, "account", "create", "Acme", "--domain", "acme.example.com")
        run_satellite(env, "account", "set", "acme.example.com", "--reservation", "both")
        token = _sample(root / "data")
        with serving(env, root) as server, sync_playwright() as p:
            _devices(server.url, token)
            run_satellite(env, "maintenance", "snapshot-usage")
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 860})
            page.goto(server.url + "/sign-in")
            page.screenshot(path=str(OUT / "sign-in.png"))
            page.get_by_label("User name").fill("admin")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_url("**/a/acme.example.com/")
            for name, url in PAGES:
                page.goto(server.url + url)
                page.screenshot(path=str(OUT / f"{name}.png"), full_page=True)
            narrow = browser.new_page(viewport={"width": 390, "height": 844})
            narrow.context.add_cookies(page.context.cookies())
            narrow.goto(server.url + "/a/acme.example.com/licenses")
            narrow.screenshot(path=str(OUT / "licenses-narrow.png"), full_page=True)
            browser.close()
    print(f"screenshots written to {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

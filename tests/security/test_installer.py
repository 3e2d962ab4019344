"""Finding 16: behind the offline installer's TLS proxy the session cookie is Secure."""

from __future__ import annotations

import subprocess
from pathlib import Path

from satellite.actor import Actor
from satellite.bootstrap import initialise, open_database
from satellite.clock import FixedClock
from satellite.config import load_settings
from satellite.web import create_app
from satellite.web.security import SESSION_COOKIE
from tests.web.ui.conftest import ADMIN_PASSWORD, csrf_token

ROOT = Path(__file__).resolve().parents[2]


def test_the_installed_settings_mark_the_session_cookie_secure(tmp_path: Path,
                                                              clock: FixedClock) -> None:
    config = tmp_path / "satellite.toml"
    subprocess.run([ROOT / "packaging/site-config.sh", ROOT / "config/satellite.toml", config,
                    tmp_path / "data"], check=True)
    settings = load_settings(config_file=config, env={})
    assert settings.secure_cookies and settings.trusted_proxy == "127.0.0.1"
    db = open_database(settings, clock)
    initialise(settings, db, Actor("cli", "t"), admin_password=ADMIN_PASSWORD)
    client = create_app(settings, db).test_client()
    https = {"base_url": "https://satellite.example.com"}
    token = csrf_token(client.get("/sign-in", **https).get_data(as_text=True))
    signed_in = client.post("/sign-in", data={"csrf_token": token, "username": "admin",
                                              "password": ADMIN_PASSWORD},
                            headers={"Referer": "https://satellite.example.com/sign-in"}, **https)
    assert signed_in.status_code == 302
    cookie = next(c for c in signed_in.headers.getlist("Set-Cookie")
                  if c.startswith(SESSION_COOKIE + "="))
    assert "; Secure" in cookie
    db.dispose()

"""Finding 15: the database files are the owner's only whatever the umask; the first admin
password's file goes when the admin chooses their own password."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from satellite.actor import Actor
from satellite.bootstrap import ADMIN_PASSWORD_FILE, initialise, open_database
from satellite.clock import FixedClock
from satellite.config import load_settings
from tests.web.ui.conftest import Browser


@pytest.fixture
def loose_umask() -> Iterator[None]:
    before = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(before)


def test_database_files_are_owner_only_under_umask_022(tmp_path: Path, clock: FixedClock,
                                                      loose_umask: None) -> None:
    settings = load_settings(data_dir=tmp_path / "data", env={})
    db = open_database(settings, clock)
    initialise(settings, db, Actor("cli", "t"))
    with db.engine.connect() as conn:  # the -wal and -shm exist while a connection is open
        conn.execute(text("SELECT 1"))
        files = sorted(settings.data_dir.glob("satellite.db*"))
        assert {f.name for f in files} >= {"satellite.db", "satellite.db-wal", "satellite.db-shm"}
        modes = {f.name: stat.S_IMODE(f.stat().st_mode) for f in files}
    db.dispose()
    assert set(modes.values()) == {0o600}, modes


def test_the_initial_password_file_goes_at_the_first_change(
        tmp_path: Path, clock: FixedClock) -> None:
    from satellite.web import create_app

    settings = load_settings(data_dir=tmp_path / "data", env={})
    db = open_database(settings, clock)
    initialise(settings, db, Actor("cli", "t"))
    path = settings.data_dir / ADMIN_PASSWORD_FILE
    first = path.read_text().strip()
    browser = Browser(create_app(settings, db).test_client())
    browser.sign_in("admin", first)
    browser.get("/password")
    browser.post("/password", {"current": first, "new": "a passphrase of my own choosing",
                               "repeat": "a passphrase of my own choosing"}, status=302)
    assert not path.exists()
    db.dispose()


def test_the_initial_password_file_goes_when_changed_over_the_api(
        tmp_path: Path, clock: FixedClock) -> None:
    from satellite.access.apiclients import create_client
    from satellite.accounts.service import create_account
    from satellite.web import create_app

    settings = load_settings(data_dir=tmp_path / "data", env={})
    db = open_database(settings, clock)
    initialise(settings, db, Actor("cli", "t"))
    path = settings.data_dir / ADMIN_PASSWORD_FILE
    first = path.read_text().strip()
    with db.uow() as uow:
        create_account(uow, Actor("cli", "t"), "Acme", "acme.example.com")
        made, secret = create_client(uow, Actor("cli", "t"), "Acme")
        client_id = made.client_id
        uow.commit()
    client = create_app(settings, db).test_client()
    token = client.post("/oauth/token", json={
        "grant_type": "password", "client_id": client_id, "client_secret": secret,
        "username": "admin", "password": first}).json["access_token"]
    changed = client.post("/api/v1/me/password", headers={"Authorization": f"Bearer {token}"},
                          json={"oldPassword": first, "newPassword": "a passphrase of my own"})
    assert changed.status_code == 200, changed.json
    assert not path.exists()
    db.dispose()

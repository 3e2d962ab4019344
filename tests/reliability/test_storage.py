"""A full disk and a read-only data dir: devices get a 503 naming the cause, /readyz says not
ready, the CLI says one line, an alert is raised, and all of it recovers by itself."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import event, select

from satellite.actor import Actor
from satellite.agent.client import DeviceClient, Refused
from satellite.agent.transport import Transport
from satellite.alerts.models import STORAGE_UNAVAILABLE, Alert
from satellite.bootstrap import database, initialise, open_database
from satellite.config import load_settings
from satellite.crypto import keys
from satellite.db import make_engine
from satellite.tokens.secrets import TokenSealer
from satellite.uow import Database
from tests.devices.helpers import TAG, FlaskTransport, Site, device, make_site, make_token
from tests.serving import run_satellite, satellite_env, serving

pytestmark = pytest.mark.reliability


@pytest.mark.sqlite_only
def test_a_full_database_answers_devices_503_naming_the_disk_and_recovers(
        db: Database, actor: Actor, sealer: TokenSealer, site: Site, clock: Any,
        transport: FlaskTransport) -> None:
    client = device(transport, clock)
    client.register(make_token(db, actor, sealer), "C9300-24T", "FULL1")
    cap: dict[str, int | None] = {"pages": None}

    # SQLite's own limit on the file's size: past it, SQLite fails exactly as on a full disk.
    @event.listens_for(db.engine, "checkout")
    def _limit(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
        cursor = dbapi_conn.cursor()
        if cap["pages"] is None:
            cursor.execute("PRAGMA max_page_count = 1073741823")
        else:
            cursor.execute(f"PRAGMA max_page_count = {cap['pages']}")
        cursor.close()

    with db.reader() as uow:
        cap["pages"] = uow.session.connection().exec_driver_sql("PRAGMA page_count").scalar()
    refusal = None
    for count in range(1, 400):
        try:
            client.report({TAG: count % 5})
        except Refused as exc:
            refusal = exc
            break
    assert refusal is not None, "the capped database never filled up"
    assert refusal.status == 503
    assert "storage unavailable: the disk holding the database is full" in str(refusal)
    ready = transport.client.get("/readyz")
    assert ready.status_code == 503
    assert "full" in ready.get_json()["storage"]
    # Space returns: the next report is recorded, and /readyz is ready again at once.
    cap["pages"] = None
    client.report({TAG: 1})
    assert transport.client.get("/readyz").status_code == 200


@contextmanager
def small_disk(path: Path, size: str = "16m") -> Iterator[Path]:
    """A tmpfs of `size` at `path` (skips the test where mounting is not allowed)."""
    path.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                             capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a small file system here: {mounted.stderr.strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def fill(directory: Path) -> Path:
    """Write a file until the disk is full; returns it."""
    filler = directory / "filler"
    # Unbuffered: nothing is left to write (and fail) when the file is closed.
    with filler.open("wb", buffering=0) as out, suppress(OSError):
        while True:
            out.write(b"\0" * 65536)
    return filler


@pytest.mark.sqlite_only
def test_a_read_only_database_answers_devices_503_naming_it(
        db: Database, actor: Actor, sealer: TokenSealer, site: Site, clock: Any,
        settings: Any, transport: FlaskTransport) -> None:
    from satellite.web import create_app

    client = device(transport, clock)
    client.register(make_token(db, actor, sealer), "C9300-24T", "RO1")
    path = db.engine.url.database
    read_only = database(make_engine(f"sqlite:///file:{path}?mode=ro&uri=true"), clock)
    with create_app(settings, read_only).test_client() as http:
        client.transport = FlaskTransport(http)
        with pytest.raises(Refused) as refused:
            client.report({TAG: 2})
        assert refused.value.status == 503
        assert "read-only" in str(refused.value)
        ready = http.get("/readyz")
        assert ready.status_code == 503 and "read-only" in ready.get_json()["storage"]
    read_only.dispose()


def test_serve_on_a_full_then_read_only_disk_names_the_cause_and_recovers(
        tmp_path: Path) -> None:
    with small_disk(tmp_path / "disk") as disk:
        data = disk / "data"
        env = satellite_env(data, "", {"SATELLITE_JOB_INTERVALS": "check-storage=1"})
        token = initialised(data)
        with serving(env, tmp_path) as server:
            transport = Transport(server.url, timeout=30)
            agent = DeviceClient(transport, keys.generate_private_key())
            agent.register(token, "C9300-24T", "DISK1")
            assert agent.report({TAG: 1})["status"] == "AUTHORIZED"

            filler = fill(disk)
            statuses = []
            for count in range(2, 200):
                try:
                    agent.report({TAG: count % 50})
                    statuses.append(200)
                except Refused as exc:
                    statuses.append(exc.status)
                    assert exc.status == 503, str(exc)
                    assert "full" in str(exc)
                    break
            assert statuses[-1] == 503, "the full disk never refused a report"
            ready = requests.get(server.url + "/readyz", timeout=30)
            assert ready.status_code == 503 and "full" in ready.json()["storage"]
            status = run_satellite(env, "sync", "status", check=False)
            assert "Traceback" not in status.stderr
            assert status.returncode == 0 or status.stderr.count("\n") == 1, status.stderr

            filler.unlink()
            deadline = time.monotonic() + 30
            while requests.get(server.url + "/readyz", timeout=30).status_code != 200:
                assert time.monotonic() < deadline, "never ready again after space returned"
                time.sleep(0.3)
            assert agent.report({TAG: 3})["status"] == "AUTHORIZED"
            deadline = time.monotonic() + 30
            while (message := _storage_alert(data)) is None:
                assert time.monotonic() < deadline, "no storage alert was recorded"
                time.sleep(0.3)
            assert "could not write its data" in message or "cannot write" in message
            transport.close()

        # The data dir's file system turns read-only: `serve` says so and does not start; the
        # CLI answers in one line.
        subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
        try:
            refused_start = run_satellite(env, "serve", "--port", "0", check=False)
            status = run_satellite(env, "sync", "status", check=False)
        finally:
            subprocess.run(["mount", "-o", "remount,rw", str(disk)], check=True)
        assert refused_start.returncode != 0
        assert refused_start.stderr.strip().splitlines()[-1].startswith(
            "satellite: error: cannot serve: the data dir holds the database and cannot write")
        assert "read-only" in refused_start.stderr and "Traceback" not in refused_start.stderr
        assert "Traceback" not in status.stderr
        assert status.returncode == 0 or status.stderr.count("\n") == 1, status.stderr


def initialised(data: Path) -> str:
    """`satellite init` of `data` (in this process: quicker), a site and a token."""
    settings = load_settings(data_dir=data, env={})
    db = open_database(settings)
    try:
        actor = Actor("cli", "tester")
        initialise(settings, db, actor)
        make_site(db, actor, quantity=100)
        return make_token(db, actor, TokenSealer.for_data_dir(data))
    finally:
        db.dispose()


def _storage_alert(data: Path) -> str | None:
    db = database(make_engine(f"sqlite:///{data / 'satellite.db'}"))
    try:
        with db.reader() as uow:
            alert = uow.session.scalar(select(Alert).where(Alert.kind == STORAGE_UNAVAILABLE))
            return None if alert is None else alert.message
    finally:
        db.dispose()

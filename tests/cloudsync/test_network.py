"""Network mode against a real `satellite-central serve` on loopback."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from sqlalchemy import select

from satellite.accounts.models import VirtualAccount
from satellite.actor import Actor
from satellite.alerts.service import list_alerts
from satellite.central import service as central
from satellite.central.ingest import satellites
from satellite.clock import FixedClock
from satellite.cloudsync import outbound
from satellite.cloudsync.network import run_sync, sync_job, sync_status
from satellite.cloudsync.sync_history import list_history
from satellite.config import Settings, load_settings
from satellite.errors import SatelliteError
from satellite.uow import Database
from tests.cloudsync.lab import Lab, make_lab
from tests.serving import free_port

BIN = Path(sys.executable).parent
pytestmark = [pytest.mark.e2e, pytest.mark.sqlite_only]


@contextmanager
def central_serving(directory: Path, *extra: str) -> Iterator[str]:
    port = free_port()
    log = (directory.parent / f"central-{port}.log").open("w")
    process = subprocess.Popen([str(BIN / "satellite-central"), "serve", "--dir", str(directory),
                                "--host", "127.0.0.1", "--port", str(port), *extra],
                               stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                if requests.get(url + "/healthz", timeout=1).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert process.poll() is None and time.monotonic() < deadline, "central did not start"
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(10)
        log.close()


@pytest.fixture
def lab(db: Database, settings: Settings, actor: Actor, clock: FixedClock,
        tmp_path: Path) -> Lab:
    clock.set(datetime.now(UTC))  # Central's processes run on the real clock
    return make_lab(db, settings, actor, clock, tmp_path)


def _networked(lab: Lab, url: str, **extra: object) -> Settings:
    return load_settings(data_dir=lab.settings.data_dir, env={}, overrides={
        "database_url": lab.settings.database_url, "central_url": url,
        "sync_retry_seconds": 0.01, **extra})


def _va(lab: Lab) -> int:
    with lab.db.reader() as uow:
        return uow.session.scalar(select(VirtualAccount.id).where(VirtualAccount.name == "Lab"))


def test_sync_registers_and_survives_a_central_failing_twice_through_a_proxy(lab: Lab) -> None:
    lab.entitle(10)
    with central_serving(lab.central_dir, "--fail-first", "2") as url:
        # central.invalid does not resolve: only the proxy setting can reach Central.
        settings = _networked(lab, "http://central.invalid", proxy_url=url)
        outcome = run_sync(lab.db, settings, lab.keystore, lab.actor, attempts=3,
                           sleep=lambda _: None)
        assert outcome.registered_now and outcome.response.snapshot is not None
        lab.report_usage("PID:A1", _va(lab), 2)
        assert run_sync(lab.db, settings, lab.keystore, lab.actor).sent == 1
    status = sync_status(lab.db, settings, Actor.local_operator())
    assert status["registration"] == "registered" and status["pending_events"] == 0
    assert status["consecutive_failures"] == 0 and "HTTP 503" in status["last_failure_reason"]
    assert status["last_success_at"] is not None
    [kept] = satellites(lab.central_dir)
    assert [(u["device"], u["count"]) for u in kept["usage"]] == [("PID:A1", 2)]
    # The history shows each attempt; the exports and imports inside runs are listed too.
    with lab.db.reader() as uow:
        rows = list_history(uow.session, Actor.local_operator()).rows
    network = [(r.ok, r.records) for r in reversed(rows) if r.action == "network"]
    assert network == [(False, None), (False, None), (True, 0), (True, 1)]
    assert "HTTP 503" in [r for r in rows if r.action == "network"][-1].error
    assert {"register", "import", "export"} <= {r.action for r in rows}


def test_failures_back_off_with_jitter_and_raise_the_unreachable_alert(
        lab: Lab, clock: FixedClock) -> None:
    settings = _networked(lab, f"http://127.0.0.1:{free_port()}", sync_retry_seconds=60,
                          sync_alert_failures=2)
    sync_job(lab.db, settings)
    first = sync_status(lab.db, settings, Actor.local_operator())
    assert first["consecutive_failures"] == 1 and "cannot reach Central" in \
        first["last_failure_reason"]
    wait = (time_of(first["next_run_at"]) - clock.now()).total_seconds()
    assert 30 <= wait <= 60
    sync_job(lab.db, settings)  # not due yet: no attempt
    assert sync_status(lab.db, settings, Actor.local_operator())["consecutive_failures"] == 1
    clock.advance(timedelta(seconds=61))
    sync_job(lab.db, settings)
    second = sync_status(lab.db, settings, Actor.local_operator())
    assert second["consecutive_failures"] == 2
    assert 60 <= (time_of(second["next_run_at"]) - clock.now()).total_seconds() <= 120
    with lab.db.reader() as uow:
        assert [a.kind for a in list_alerts(uow.session, Actor.local_operator())] == ["central_unreachable"]


def time_of(text: object) -> datetime:
    return datetime.fromisoformat(str(text))


def test_a_sync_killed_mid_way_resumes_without_loss_or_double_count(
        lab: Lab, tmp_path: Path) -> None:
    lab.registered()
    va = _va(lab)
    for n in range(5):
        lab.report_usage(f"PID:{n}", va, n + 1)
    with central_serving(lab.central_dir, "--delay", "30") as url:
        env = {"PATH": str(BIN), "SATELLITE_DATA_DIR": str(lab.settings.data_dir),
               "SATELLITE_DATABASE_URL": lab.settings.database_url,
               "SATELLITE_CENTRAL_URL": url}
        sync = subprocess.Popen([str(BIN / "satellite"), "sync", "now", "--attempts", "1"],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 20
        while _central_events(lab.central_dir) < 5:  # Central took the batch in ...
            assert time.monotonic() < deadline and sync.poll() is None
            time.sleep(0.05)
        sync.kill()  # ... and the satellite dies before the answer arrives.
        sync.wait()
    with lab.db.reader() as uow:
        assert outbound.pending_count(uow.session) == 5
    lab.report_usage("PID:new", va, 1)
    with central_serving(lab.central_dir) as url:
        settings = _networked(lab, url)
        assert run_sync(lab.db, settings, lab.keystore, lab.actor).sent == 6
    [kept] = satellites(lab.central_dir)
    assert kept["events"] == 6 and kept["acked_through"] == 6
    assert sorted(u["count"] for u in kept["usage"]) == [1, 1, 2, 3, 4, 5]
    with lab.db.reader() as uow:
        assert outbound.pending_count(uow.session) == 0
    last = json.loads(_last_ingest(lab.central_dir))
    assert (last["new"], last["duplicates"]) == (1, 5)


def _central_events(directory: Path) -> int:
    with sqlite3.connect(directory / "central.db", timeout=5) as conn:
        return int(conn.execute("SELECT count(*) FROM events").fetchone()[0])


def _last_ingest(directory: Path) -> str:
    with sqlite3.connect(directory / "central.db") as conn:
        return str(conn.execute("SELECT summary FROM ingests ORDER BY id DESC").fetchone()[0])


def test_without_central_url_network_mode_says_so(lab: Lab) -> None:
    with pytest.raises(SatelliteError, match="network mode is off"):
        run_sync(lab.db, lab.settings, lab.keystore, lab.actor)
    assert central.describe(lab.central_dir).central_id

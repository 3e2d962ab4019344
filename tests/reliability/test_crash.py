"""kill -9 of a real `satellite serve` under device load, and of `sync import` and `sync export`
half-way: every acknowledged report is counted once, nothing is half applied."""

from __future__ import annotations

import random
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from satellite.actor import Actor
from satellite.agent.client import BadAnswer, DeviceClient, Refused
from satellite.agent.transport import Transport
from satellite.bootstrap import database
from satellite.central import store as central_store
from satellite.clock import FixedClock, SystemClock
from satellite.cloudsync import outbound
from satellite.cloudsync.envelope import read_bundle
from satellite.config import Settings
from satellite.crypto import keys
from satellite.licenses.counters import counter
from satellite.licenses.models import LicenseLine
from satellite.state import get_state
from satellite.tokens.secrets import TokenSealer
from satellite.uow import Database
from satellite.web import create_app
from tests.cloudsync.lab import make_lab
from tests.devices.helpers import TAG, FlaskTransport, Site, make_token
from tests.reliability.conftest import long_campaign, rounds
from tests.serving import satellite_env, serving

pytestmark = [pytest.mark.reliability, pytest.mark.e2e]

DEVICES = 6


class Reporter(threading.Thread):
    """One device reporting 1, 2, 3 ... as fast as it is answered, until told to stop."""

    def __init__(self, client: DeviceClient) -> None:
        super().__init__(daemon=True)
        self.client = client
        self.next = 1
        self.acked: list[int] = []
        self.sent: list[int] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            value = self.next
            prepared = self.client.prepare("usage", {"usage": {TAG: value}})
            self.sent.append(value)
            self.next += 1
            try:
                reply = self.client.send(prepared)
            except OSError:
                return  # the server is gone: this report may or may not have been recorded
            try:
                self.client.accept(prepared, reply)
            except (Refused, BadAnswer) as exc:
                raise AssertionError(f"a report was refused: {exc}") from None
            self.acked.append(value)


def udi(n: int) -> str:
    return f"C9300-24T:CRASH{n}"


def test_kill_9_under_device_load_loses_no_acknowledged_report(
        db: Database, settings: Settings, actor: Actor, sealer: TokenSealer, site: Site,
        tmp_path: Path) -> None:
    clients = []
    live = database(db.engine, SystemClock())  # `serve` runs on the real clock
    with create_app(settings, live).test_client() as http:
        token = make_token(live, actor, sealer)
        for n in range(DEVICES):
            client = DeviceClient(FlaskTransport(http), keys.generate_private_key(),
                                  now=SystemClock().now)
            client.register(token, "C9300-24T", f"CRASH{n}")
            clients.append(client)
    env = satellite_env(settings.data_dir, settings.database_url)
    rng = random.Random(9)
    logged_before: dict[str, list[int]] = {}
    for round_ in range(rounds(2)):
        with serving(env, tmp_path) as server:
            reporters = []
            for client in clients:
                client.transport = Transport(server.url, timeout=30)
                reporter = Reporter(client)
                # Values keep increasing across rounds, so each report is told apart.
                reporter.next = 1 + 100_000 * round_
                reporters.append(reporter)
                reporter.start()
            # Killed at a random point once reports are flowing (a loaded machine is slow).
            deadline = time.monotonic() + 30
            while not any(r.acked for r in reporters) and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(rng.uniform(0.0, 1.2))
            server.process.kill()
            server.process.wait(30)
            for reporter in reporters:
                reporter.stop.set()
                reporter.join(60)
                assert not reporter.is_alive()
            assert sum(len(r.acked) for r in reporters) > 0, "no report was answered"
        _check_every_acknowledged_report(db, site, reporters, logged_before)


def _check_every_acknowledged_report(db: Database, site: Site, reporters: list[Reporter],
                                     logged_before: dict[str, list[int]]) -> None:
    with db.reader() as uow:
        logged: dict[str, list[int]] = {}
        for fact in outbound.events(uow.session, 0, outbound.last_sequence(uow.session)):
            if fact.kind == outbound.USAGE:
                logged.setdefault(fact.data["device"], []).append(fact.data["count"])
        in_use = counter(uow.session, site.va_id, TAG, uow.clock.now().date()).in_use
    latest = 0
    for n, reporter in enumerate(reporters):
        counts = logged.get(udi(n), [])
        before = logged_before.get(udi(n), [])
        assert counts[:len(before)] == before, "the usage log lost or changed earlier facts"
        new = counts[len(before):]
        logged_before[udi(n)] = counts
        # Each committed report is logged once, in the order sent; every acknowledged one is.
        assert new == sorted(set(new)), f"a report was counted twice: {new}"
        assert set(new) <= set(reporter.sent), "a report nobody sent was logged"
        missing = set(reporter.acked) - set(new)
        assert not missing, f"acknowledged reports lost: {sorted(missing)[:5]}"
        # At most the one report in flight at the kill was recorded without its answer.
        assert len(set(new) - set(reporter.acked)) <= 1
        latest += counts[-1] if counts else 0
    assert in_use == latest


def _timed(args: list[str], env: dict[str, str]) -> float:
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "satellite", *args], env=env,
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return time.monotonic() - started


def _killed_midway(args: list[str], env: dict[str, str], delay: float) -> None:
    process = subprocess.Popen([sys.executable, "-m", "satellite", *args], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        process.wait(delay)
    except subprocess.TimeoutExpired:
        process.kill()
    process.wait(30)


LINES = 400


def test_kill_9_during_sync_import_and_export_leaves_all_or_nothing(
        db: Database, settings: Settings, actor: Actor, tmp_path: Path) -> None:
    if "postgresql" in settings.database_url and not long_campaign():
        pytest.skip("on PostgreSQL in the long campaign only (make test-reliability)")
    live = database(db.engine, SystemClock())  # as the CLI will see it
    lab = make_lab(live, settings, actor, FixedClock(SystemClock().now()), tmp_path)
    lab.registered()
    # Central's orders, written in one transaction of its store (one line at a time is slow).
    with central_store.transaction(lab.central_dir) as conn:
        conn.executemany(
            "INSERT INTO entitlements VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(f"line-{n}", "abc.xyz.com", "Lab", TAG, TAG, "PERPETUAL", 1, None, None, "", 0,
              lab.now().isoformat()) for n in range(LINES)])
    response = lab.respond()
    env = satellite_env(settings.data_dir, settings.database_url)
    rng = random.Random(5)

    # Export: the file appears complete or not at all.
    with db.uow() as uow:
        for n in range(200):
            outbound.append(uow.session, outbound.USAGE, {
                "device": f"X:{n}", "account": "abc.xyz.com", "va": "Lab", "tag": TAG,
                "count": n}, uow.clock.now())
        uow.commit()
    # Killed anywhere from start-up to the end of the work.
    full = _timed(["sync", "export", "--out", str(tmp_path / "whole.bundle")], env)
    for round_ in range(rounds(1)):
        out = tmp_path / f"batch-{round_}.bundle"
        _killed_midway(["sync", "export", "--out", str(out)], env, rng.uniform(0.2, 1.1) * full)
        leftovers = [p.name for p in tmp_path.iterdir() if p.name.startswith(out.name)
                     and p != out]
        assert leftovers == [], f"partial files left: {leftovers}"
        if out.exists():
            with read_bundle(out) as bundle:
                bundle.verify(lab.keystore.identity_public_key())
                assert sum(1 for _ in bundle.records()) == bundle.header.payload_records

    def applied() -> tuple[str | None, int]:
        with db.reader() as uow:
            return (get_state(uow.session, "sync.last_response_serial"),
                    uow.session.scalar(select(func.coalesce(func.sum(LicenseLine.quantity), 0))))

    # Import: the response is applied whole or not at all (an import takes about as long).
    before = applied()
    for _round in range(rounds(1)):
        _killed_midway(["sync", "import", str(response)], env, rng.uniform(0.2, 1.1) * full)
        now = applied()
        if now != before:
            assert now[1] == LINES, f"half an import: {now}"
            break
    else:
        _timed(["sync", "import", str(response)], env)
    assert applied()[1] == LINES

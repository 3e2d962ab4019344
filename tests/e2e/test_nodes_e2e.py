"""Two `satellite serve` nodes on one PostgreSQL database: nothing that matters stays in a node.

Registrations spread across both nodes spend a token exactly; pools count usage reported to
either; a session, a CSRF token, a spent nonce and a deregistration on one node hold on the
other; a scheduled
job runs once per interval while both serve and goes on, on the survivor, when its node is
killed. On SQLite there is one node: this test needs SATELLITE_TEST_DATABASE_URL.
"""

from __future__ import annotations

import itertools
import re
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from sqlalchemy import func, select

from satellite.actor import Actor
from satellite.agent.agent import Agent
from satellite.agent.client import Refused
from satellite.bootstrap import database
from satellite.clock import SystemClock
from satellite.crypto import keys, signing
from satellite.db import make_engine
from satellite.devices.messages import build_request
from satellite.devices.models import Device
from satellite.jobruns import RunView, recent_runs
from satellite.licenses.counters import va_counters
from satellite.tokens.models import RegistrationToken
from satellite.uow import Database
from tests.conftest import PG_URL, PgSchema
from tests.devices.helpers import TAG, make_site
from tests.serving import Server, run_satellite, satellite_env, serving

pytestmark = [pytest.mark.e2e, pytest.mark.skipif(
    not PG_URL, reason="several nodes serve PostgreSQL only: set SATELLITE_TEST_DATABASE_URL")]

JOB, INTERVAL = "age-devices", 1.0
# A run may start this much of a tick early (timer jitter); never more (scheduler._EARLY).
EARLY = 0.1 * INTERVAL
# Generous bounds for a loaded machine: how long a run may be late, and a failover may take.
LATE_RUNS, TAKEOVER = 8 * INTERVAL, 15 * INTERVAL
AGENTS, MAX_USES = 40, 25
PASSWORD = "correct horse battery staple"


def _runs(db: Database) -> list[RunView]:
    with db.reader() as uow:
        return recent_runs(uow.session, JOB, limit=1000)


def _wait_for(what: str, check: Callable[[], bool], timeout: float = 45) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.2)


def _gaps(runs: list[RunView]) -> list[float]:
    return [(b.started_at - a.started_at).total_seconds() for a, b in itertools.pairwise(runs)]


def _node_of(server: Server) -> str:
    return f":{server.process.pid}"


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)
    assert found, "the page has no CSRF token"
    return found.group(1)


def _signed_usage(state: Path, device: int) -> tuple[bytes, dict[str, str]]:
    """A usage report of one TAG, signed with the device's key as its agent would."""
    private = keys.load_private_key(state / "device.key")
    return build_request("usage", device, {"usage": {TAG: 1}}, SystemClock().now(),
                         lambda data: signing.sign(private, data))


def _register(state: Path, url: str, token: str) -> tuple[int | None, str]:
    """Register one device; returns its id, or None and why it was refused."""
    try:
        document = Agent(state, attempts=1).register(url, token, "C9300-24T", state.name)
    except Refused as exc:
        return None, str(exc)
    return int(document["deviceId"]), ""


def test_two_nodes_share_everything_that_matters_and_one_runs_the_jobs(
        pg_schema: PgSchema, tmp_path: Path) -> None:
    password_file = tmp_path / "admin-password"
    password_file.write_text(PASSWORD + "\n")
    node_dirs = tmp_path / "node-a", tmp_path / "node-b"
    env_a, env_b = (satellite_env(d, pg_schema.url, {"SATELLITE_JOB_INTERVALS": f"{JOB}={INTERVAL:g}"})
                    for d in node_dirs)
    run_satellite(env_a, "init", "--admin-password-file", str(password_file))

    # A second node with keys of its own is refused; with a copy of the first node's, it joins.
    refused = run_satellite(env_b, "init", check=False)
    assert refused.returncode != 0
    assert "differ from those of the other nodes" in refused.stderr
    assert refused.stderr.count("\n") == 1
    shutil.copytree(node_dirs[0] / "keys", node_dirs[1] / "keys")
    run_satellite(env_b, "init")

    db = database(make_engine(pg_schema.url))
    try:
        site = make_site(db, Actor("cli", "tester"), quantity=MAX_USES)
        token = run_satellite(env_a, "token", "create", "Acme", "Lab", "--max-uses",
                              str(MAX_USES)).stdout.strip()
        with serving(env_a, tmp_path) as a, serving(env_b, tmp_path) as b:
            both_up = SystemClock().now()
            nodes = (a, b)

            # 40 devices register at once, alternately on each node, with a 25-use token.
            states = [(tmp_path / f"SN-{i:03d}", nodes[i % 2].url) for i in range(AGENTS)]
            with ThreadPoolExecutor(max_workers=16) as pool:
                results = list(pool.map(lambda s: _register(s[0], s[1], token), states))
            registered = [(state, url, device) for (state, url), (device, _)
                          in zip(states, results, strict=True) if device is not None]
            refusals = [why for device, why in results if device is None]
            assert len(registered) == MAX_USES
            assert {url for _, url, _ in registered} == {a.url, b.url}
            assert all("has been used 25 times, its maximum" in why for why in refusals), refusals
            with db.reader() as uow:
                assert uow.session.scalar(select(RegistrationToken.uses)) == MAX_USES
                assert uow.session.scalar(select(func.count()).select_from(Device)) == MAX_USES

            # Each device reports to the node it did not register with, all at once; the
            # replayed message is refused by the first node, which never saw it.
            def report(index: int) -> tuple[int, bytes, dict[str, str]]:
                state, url, device = registered[index]
                raw, headers = _signed_usage(state, device)
                other = b.url if url == a.url else a.url
                reply = requests.post(other + "/api/device/v1/usage", data=raw, headers=headers, timeout=30)
                return reply.status_code, raw, headers

            with ThreadPoolExecutor(max_workers=16) as pool:
                reports = list(pool.map(report, range(MAX_USES)))
            assert [status for status, _, _ in reports] == [200] * MAX_USES
            with db.reader() as uow:
                lab = va_counters(uow.session, site.va_id, SystemClock().now().date(), [TAG])[TAG]
            assert (lab.quantity, lab.in_use) == (MAX_USES, MAX_USES)
            _, raw, headers = reports[0]
            first_url = registered[0][1]
            replay = requests.post(first_url + "/api/device/v1/usage", data=raw, headers=headers, timeout=30)
            assert replay.status_code == 409
            assert "already received" in replay.json()["error"]

            # A device deregistered through one node is refused at once by the other, and its
            # license is back in the pool.
            state, url, device = registered[1]
            Agent(state, attempts=1).deregister()
            raw, headers = _signed_usage(state, device)
            other = b.url if url == a.url else a.url
            stale = requests.post(other + "/api/device/v1/usage", data=raw, headers=headers, timeout=30)
            assert stale.status_code == 401
            assert "is deregistered" in stale.json()["error"]
            with db.reader() as uow:
                lab = va_counters(uow.session, site.va_id, SystemClock().now().date(), [TAG])[TAG]
            assert lab.in_use == MAX_USES - 1

            # Signed in on A, the same cookie (and CSRF token) works on B.
            browser = requests.Session()
            sign_in = browser.get(a.url + "/sign-in", timeout=30)
            signed_in = browser.post(a.url + "/sign-in", timeout=30, allow_redirects=False, data={
                "csrf_token": _csrf(sign_in.text), "username": "admin", "password": PASSWORD})
            assert signed_in.status_code == 302
            page_on_a = browser.get(a.url + "/accounts", timeout=30, allow_redirects=False)
            on_b = browser.get(b.url + "/accounts", timeout=30, allow_redirects=False)
            assert on_b.status_code == 200
            assert "Acme" in on_b.text
            signed_out = browser.post(b.url + "/sign-out", data={"csrf_token": _csrf(page_on_a.text)},
                                      timeout=30, allow_redirects=False)
            assert signed_out.status_code == 302
            assert browser.get(a.url + "/accounts", timeout=30, allow_redirects=False).status_code == 302

            # While both nodes serve, one of them runs the job, once per interval.
            _wait_for("six runs of the job", lambda: len(
                [r for r in _runs(db) if r.started_at >= both_up]) >= 6)
            before = [run for run in _runs(db) if run.started_at >= both_up]
            assert len({run.node for run in before}) == 1, f"both nodes ran the job: {before}"
            assert min(_gaps(before)) >= INTERVAL - EARLY, f"two runs in one interval: {_gaps(before)}"
            assert max(_gaps(before)) <= LATE_RUNS, f"the job stopped running: {_gaps(before)}"
            leader = next(node for node in nodes if before[-1].node.endswith(_node_of(node)))
            survivor = b if leader is a else a

            # Killed without a chance to let go, the leader's lock goes with its connection.
            leader.process.kill()
            leader.process.wait(30)
            killed_at = SystemClock().now()
            _wait_for("three runs on the surviving node", lambda: len(
                [r for r in _runs(db) if r.started_at > killed_at]) >= 3)
            runs = _runs(db)
            after = [run for run in runs if run.started_at > killed_at]
            assert all(run.node.endswith(_node_of(survivor)) for run in after), after
            across = [run for run in runs if run.started_at >= both_up]
            assert min(_gaps(across)) >= INTERVAL - EARLY, f"two runs in one interval: {_gaps(across)}"
            last_before = max(run.started_at for run in runs if run.started_at <= killed_at)
            takeover = (after[0].started_at - last_before).total_seconds()
            assert takeover <= TAKEOVER, f"the survivor took {takeover:.1f} s to take the job over"
            assert all(run.outcome == "ok" for run in across)
            assert requests.get(survivor.url + "/readyz", timeout=30).status_code == 200
    finally:
        db.dispose()


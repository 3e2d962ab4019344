"""Two `satellite serve` nodes on one PostgreSQL database, the leader killed with -9 round after
round: each job runs once per interval across the nodes, and the survivor takes it over."""

from __future__ import annotations

import shutil
from contextlib import ExitStack
from pathlib import Path

import pytest
import requests

from satellite.actor import Actor
from satellite.bootstrap import database, initialise
from satellite.clock import SystemClock
from satellite.config import load_settings
from satellite.db import make_engine
from tests.conftest import PG_URL, PgSchema
from tests.e2e.test_nodes_e2e import EARLY, INTERVAL, JOB, TAKEOVER, _gaps, _node_of, _runs, _wait_for
from tests.reliability.conftest import rounds
from tests.serving import Server, satellite_env, serving

pytestmark = [pytest.mark.reliability, pytest.mark.e2e, pytest.mark.skipif(
    not PG_URL, reason="several nodes serve PostgreSQL only: set SATELLITE_TEST_DATABASE_URL")]


def test_killing_the_leader_again_and_again_runs_each_job_once(
        pg_schema: PgSchema, tmp_path: Path) -> None:
    dirs = [tmp_path / "node-a", tmp_path / "node-b"]
    envs = [satellite_env(d, pg_schema.url, {"SATELLITE_JOB_INTERVALS": f"{JOB}={INTERVAL:g}"})
            for d in dirs]
    db = database(make_engine(pg_schema.url))
    try:
        # `satellite init` of both nodes, in this process (quicker); the second has the
        # first's keys, as a node must.
        for n, directory in enumerate(dirs):
            if n:
                shutil.copytree(dirs[0] / "keys", directory / "keys")
            settings = load_settings(data_dir=directory, env={},
                                     overrides={"database_url": pg_schema.url})
            initialise(settings, db, Actor("cli", "tester"))
        with ExitStack() as stack:
            nodes: list[Server] = [stack.enter_context(serving(env, tmp_path)) for env in envs]
            start = SystemClock().now()
            for round_ in range(rounds(1)):
                since = SystemClock().now()
                _wait_for("two runs with both nodes up", lambda since=since: len(
                    [r for r in _runs(db) if r.started_at >= since]) >= 2)
                leader_run = [r for r in _runs(db) if r.started_at >= since][-1]
                index = next(i for i, node in enumerate(nodes)
                             if leader_run.node.endswith(_node_of(node)))
                nodes[index].process.kill()
                nodes[index].process.wait(30)
                killed_at = SystemClock().now()
                survivor = nodes[1 - index]
                _wait_for("two runs on the survivor", lambda k=killed_at: len(
                    [r for r in _runs(db) if r.started_at > k]) >= 2)
                after = [r for r in _runs(db) if r.started_at > killed_at]
                assert all(r.node.endswith(_node_of(survivor)) for r in after), after
                before = max(r.started_at for r in _runs(db) if r.started_at <= killed_at)
                assert (after[0].started_at - before).total_seconds() <= TAKEOVER
                assert requests.get(survivor.url + "/healthz", timeout=30).status_code == 200
                if round_ + 1 < rounds(1):
                    # The killed node comes back (a new process) and the next round kills again.
                    nodes[index] = stack.enter_context(serving(envs[index], tmp_path))
            runs = [r for r in _runs(db) if r.started_at >= start]
            assert min(_gaps(runs)) >= INTERVAL - EARLY, f"two runs in one interval: {_gaps(runs)}"
            assert all(run.outcome == "ok" for run in runs)
    finally:
        db.dispose()

from __future__ import annotations

import itertools
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime

import pytest
from sqlalchemy import create_engine, text

from satellite.leader import AdvisoryLockLeader, SingleNode, leadership_for
from tests.conftest import PgSchema

INTERVAL = 0.5


@pytest.fixture
def runs_table(pg_schema: PgSchema) -> Iterator[str]:
    engine = create_engine(pg_schema.url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE job_runs (node text NOT NULL, at timestamptz NOT NULL)"))
    engine.dispose()
    yield pg_schema.url


def _runs(url: str) -> list[tuple[str, datetime]]:
    engine = create_engine(url)
    with engine.connect() as conn:
        rows = [(r.node, r.at) for r in conn.execute(text("SELECT node, at FROM job_runs ORDER BY at"))]
    engine.dispose()
    return rows


def _db_now(url: str) -> datetime:
    engine = create_engine(url)
    with engine.connect() as conn:
        now: datetime = conn.execute(text("SELECT clock_timestamp()")).scalar_one()
    engine.dispose()
    return now


def _start(url: str, node: str) -> subprocess.Popen[str]:
    argv = [sys.executable, "-m", "tests.system.scheduling_node", url, node, str(INTERVAL)]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    assert process.stdout.readline().strip() == "started"
    return process


@pytest.mark.e2e
def test_two_nodes_run_a_job_once_per_interval_and_the_survivor_takes_over(runs_table: str) -> None:
    a, b = _start(runs_table, "a"), _start(runs_table, "b")
    try:
        since = _db_now(runs_table)
        time.sleep(3)
        both = [run for run in _runs(runs_table) if run[1] >= since]
        leaders = {node for node, _ in both}
        assert len(leaders) == 1, f"both nodes ran the job: {both}"
        gaps = [(later - earlier).total_seconds() for (_, earlier), (_, later) in itertools.pairwise(both)]
        assert 5 <= len(both) <= 7
        assert min(gaps) > INTERVAL * 0.6, f"runs closer than an interval: {gaps}"

        leader = a if leaders == {"a"} else b
        leader.send_signal(signal.SIGKILL)
        leader.wait(10)
        killed_at = _db_now(runs_table)
        time.sleep(3)
        after = [run for run in _runs(runs_table) if run[1] > killed_at]
        survivor = "b" if leaders == {"a"} else "a"
        assert {node for node, _ in after} == {survivor}
        assert len(after) >= 3
    finally:
        for process in (a, b):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                process.wait(10)
            assert process.stdout is not None
            process.stdout.close()


def test_a_second_leader_is_refused_until_the_first_lets_go(pg_schema: PgSchema) -> None:
    engine_a, engine_b = create_engine(pg_schema.url), create_engine(pg_schema.url)
    first, second = AdvisoryLockLeader(engine_a, key=4242), AdvisoryLockLeader(engine_b, key=4242)
    try:
        assert first.is_leader()
        assert first.is_leader()
        assert not second.is_leader()
        first.close()
        assert second.is_leader()
        assert not first.is_leader()
    finally:
        first.close()
        second.close()
        engine_a.dispose()
        engine_b.dispose()


def test_sqlite_assumes_a_single_node() -> None:
    engine = create_engine("sqlite://")
    leadership = leadership_for(engine)
    assert isinstance(leadership, SingleNode)
    assert leadership.is_leader()

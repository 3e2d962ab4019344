from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from satellite.config import Settings
from tests.serving import run_satellite, satellite_env, serving

pytestmark = pytest.mark.e2e


def _batch_scheduling_allowed() -> bool:
    """Whether this system lets a process make itself batch work (Linux, unless refused)."""
    if not hasattr(os, "SCHED_BATCH"):
        return False
    probe = subprocess.run([sys.executable, "-c", "import os; os.sched_setscheduler(0, "
                            "os.SCHED_BATCH, os.sched_param(0))"], check=False)
    return probe.returncode == 0


def test_serve_answers_health_and_readiness_and_stops_on_sigterm(settings: Settings, tmp_path: Path) -> None:
    env = satellite_env(settings.data_dir, settings.database_url)
    run_satellite(env, "init")
    with serving(env, tmp_path) as server:
        health = requests.get(server.url + "/healthz", timeout=5)
        assert health.status_code == 200
        assert health.json()["status"] == "ok"
        ready = requests.get(server.url + "/readyz", timeout=5)
        assert ready.json() == {"status": "ok", "database": "ok", "storage": "ok", "clock": "ok"}
        if _batch_scheduling_allowed():
            # Batch work: a woken thread does not preempt the one holding the interpreter lock.
            assert os.sched_getscheduler(server.process.pid) == os.SCHED_BATCH
        assert server.stop() == 0
    log = server.log.read_text()
    assert "stopped" in log
    # SQLite is served by one node; PostgreSQL may be served by several (docs/ha.md).
    assumed = ("a single node is assumed" if settings.database_url.startswith("sqlite")
               else "other nodes may serve it too")
    assert assumed in log


def test_serve_refuses_an_uninitialised_data_dir(settings: Settings) -> None:
    env = satellite_env(settings.data_dir, settings.database_url)
    result = run_satellite(env, "serve", "--port", "1", check=False)
    assert result.returncode != 0
    assert result.stderr.strip().endswith("run `satellite init`")


def test_a_busy_port_is_one_line_not_a_traceback(settings: Settings) -> None:
    env = satellite_env(settings.data_dir, settings.database_url)
    run_satellite(env, "init")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_satellite({**env, "SATELLITE_PORT": str(port)}, "serve", check=False)
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1] == (
        f"satellite: error: cannot listen on 127.0.0.1:{port}: the port is in use by another program "
        "(choose another with --port or SATELLITE_PORT)")


def test_make_run_leaves_host_and_port_to_the_settings() -> None:
    # The README's precedence rule: SATELLITE_PORT/SATELLITE_HOST apply to `make run` too, so
    # the Makefile must not pass its own --host/--port.
    makefile = (Path(__file__).parents[2] / "Makefile").read_text()
    run = makefile.split("\nrun:", 1)[1].split("\n\n", 1)[0]
    assert "serve" in run and "--port" not in run and "--host" not in run

"""Nodes serving one PostgreSQL database must hold the same keys; one that does not is refused."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from satellite.keystore import SESSION_SECRET
from tests.conftest import PgSchema
from tests.serving import run_satellite, satellite_env

pytestmark = pytest.mark.e2e


def test_a_node_whose_keys_changed_refuses_to_serve_and_says_which(
        pg_schema: PgSchema, tmp_path: Path) -> None:
    first, second = tmp_path / "node-1", tmp_path / "node-2"
    env_first, env_second = satellite_env(first, pg_schema.url), satellite_env(second, pg_schema.url)
    run_satellite(env_first, "init")
    shutil.copytree(first / "keys", second / "keys")
    run_satellite(env_second, "init")
    (second / "keys" / SESSION_SECRET).write_text("f" * 64 + "\n")

    refused = run_satellite(env_second, "serve", "--port", "1", check=False)
    assert refused.returncode == 2
    # serve logs to stderr; the refusal is its last line.
    assert refused.stderr.strip().splitlines()[-1].endswith(
        "differ from those of the other nodes serving this database (the web session secret): "
        "copy the keys/ directory of a running node here")
    again = run_satellite(env_second, "init", check=False)
    assert again.returncode == 2
    assert "the web session secret" in again.stderr


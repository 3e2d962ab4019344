"""The streaming benchmark, tiny, so it keeps working (the full run is `bench/sync_bench.py`)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
BENCH = Path(__file__).resolve().parents[1] / "sync_bench.py"


def test_a_tiny_sync_benchmark_round_trips_every_event(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("sync_bench", BENCH)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    result = module.bench(50, tmp_path)
    assert result["events"] == 50
    assert set(result["steps"]) == {"export", "central_ingest", "central_respond", "import"}
    assert 0 < result["peak_rss_mb"] < 200

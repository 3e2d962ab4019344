"""The SLUP import benchmark, tiny, so it keeps working (the full run is `bench/slup_bench.py`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.slup_bench import bench

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_a_tiny_slup_benchmark_imports_every_device_twice(tmp_path: Path) -> None:
    result = bench(200, 20, tmp_path)
    assert (result["reports"], result["devices"]) == (200, 20)
    assert result["seconds"] > 0 and 0 < result["peak_rss_mb"] < 200
    assert result["reimport_seconds"] > 0

"""The entitlement import benchmark, tiny, so it keeps working (the full run is
`python -m bench.import_bench --lines 100000`)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench.import_bench import bench, main, pg_database

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_a_tiny_import_benchmark_applies_both_responses_and_appends_its_report(
        tmp_path: Path) -> None:
    out = tmp_path / "BENCHMARKS.md"
    out.write_text("# Benchmarks\n")
    assert main(["--lines", "200", "--record", str(out)]) == 0
    text = out.read_text()
    assert text.startswith("# Benchmarks\n")
    assert "### Entitlement import, 200 license lines" in text
    assert "`python -m bench.import_bench --lines 200 --record" in text
    for step in ("inspect", "first import", "second import"):
        assert f"| SQLite | {step} |" in text


@pytest.mark.skipif(not os.environ.get("SATELLITE_TEST_DATABASE_URL"),
                    reason="SATELLITE_TEST_DATABASE_URL is not set")
def test_a_tiny_import_benchmark_runs_on_postgresql(tmp_path: Path) -> None:
    # A database of its own beside the test database, dropped after.
    with pg_database(os.environ["SATELLITE_TEST_DATABASE_URL"],
                     "satellite_bench_import_smoke") as url:
        result = bench(100, tmp_path, url)
    assert result["lines"] == 100
    assert set(result["steps"]) == {"inspect", "first import", "second import"}

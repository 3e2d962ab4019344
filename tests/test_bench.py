"""The check-in benchmark runs (quick mode) and writes its report; its numbers are not judged here."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bench.checkin import main

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_quick_benchmark_measures_both_endpoints_and_writes_the_report(tmp_path: Path) -> None:
    out = tmp_path / "BENCHMARKS.md"
    out.write_text("# Benchmarks\n\n### An earlier run\n\nkept as history\n")
    assert main(["--quick", "--out", str(out)]) == 0
    text = out.read_text()
    # A run appends its own dated section; earlier ones stay.
    assert text.startswith("# Benchmarks\n\n### An earlier run\n\nkept as history\n\n### Device")
    rows = re.findall(r"^\| (hello baseline|device check-in)[^|]*\| (\d+) \| (\d+) \| ([\d.]+) \|",
                      text, re.M)
    assert [(name, int(errors)) for name, _n, errors, _t in rows] == [
        ("hello baseline", 0), ("device check-in", 0), ("device check-in", 0)]
    assert all(int(n) > 0 for _name, n, _e, _t in rows)
    assert re.search(r"Check-in throughput is \*\*\d+%\*\* of the baseline", text)
    assert "Command: `python -m bench.checkin --quick" in text

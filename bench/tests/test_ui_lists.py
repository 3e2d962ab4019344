"""The list-page benchmark seeds a small appliance, serves it and writes its report (numbers not judged)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bench.ui_lists import main

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_a_small_run_seeds_serves_every_page_and_appends_the_report(tmp_path: Path) -> None:
    out = tmp_path / "BENCHMARKS.md"
    out.write_text("# Benchmarks\n")
    assert main(["--devices", "300", "--vas", "24", "--accounts", "2", "--reservations", "10",
                 "--audit-events", "100", "--requests", "1", "--out", str(out)]) == 0
    text = out.read_text()
    assert text.startswith("# Benchmarks\n")
    assert "Command: `python -m bench.ui_lists --devices 300 --vas 24" in text
    assert "24 virtual accounts" in text and "300 product instances" in text
    rows = re.findall(r"^\| ([a-z][^|]*) \| 1 \| [\d.]+ \| [\d.]+ \| [\d.]+ \| [\d.]+ \|$", text,
                      re.M)
    assert {"devices: first page", "devices: search by hostname", "virtual accounts: tree",
            "licenses: account", "reservations", "audit log"} <= set(rows)

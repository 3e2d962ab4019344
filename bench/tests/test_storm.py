"""The storm benchmark runs (quick mode) and writes its report; its numbers are not judged here."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from bench.storm import main

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def _rows(text: str) -> list[tuple[str, int, int, str]]:
    return [(name, int(n), int(errors), exact) for name, n, errors, exact in re.findall(
        r"^\| (hello baseline[^|]*|registration storm[^|]*) \| (\d+) \| (\d+) \|.*\| ([^|]+) \|$",
        text, re.M)]


def test_a_quick_storm_registers_every_device_exactly_and_appends_the_report(
        tmp_path: Path) -> None:
    out = tmp_path / "BENCHMARKS.md"
    out.write_text("# Benchmarks\n\n### An earlier run\n\nkept as history\n")
    assert main(["--quick", "--database-url", "", "--out", str(out)]) == 0
    text = out.read_text()
    assert text.startswith("# Benchmarks\n\n### An earlier run\n\nkept as history\n\n"
                           "### Registration storm: 12 devices at once")
    rows = _rows(text)
    assert [name for name, *_ in rows] == ["hello baseline (GET /hello)",
                                           "registration storm, SQLite, 1 node"]
    assert rows[0][1] > 0 and rows[0][2] == 0
    # Every device registered, the limited token counted each exactly, one more refused.
    assert rows[1][1:] == (12, 0, "yes: token used 12 times, 12 devices, one more refused")
    assert "Command: `python -m bench.storm --quick" in text
    assert re.search(r"Load average of the machine .*: [\d.]+ \(1 min\)", text)


@pytest.mark.skipif(not os.environ.get("SATELLITE_TEST_DATABASE_URL"),
                    reason="SATELLITE_TEST_DATABASE_URL is not set")
def test_on_postgresql_the_storm_also_runs_on_one_and_two_nodes(tmp_path: Path) -> None:
    out = tmp_path / "BENCHMARKS.md"
    assert main(["--quick", "--database-url", os.environ["SATELLITE_TEST_DATABASE_URL"],
                 "--out", str(out)]) == 0
    text = out.read_text()
    rows = _rows(text)
    assert [name for name, *_ in rows][1:] == ["registration storm, SQLite, 1 node",
                                               "registration storm, PostgreSQL, 1 node",
                                               "registration storm, PostgreSQL, 2 nodes"]
    assert all(row[1:] == (12, 0, "yes: token used 12 times, 12 devices, one more refused")
               for row in rows[1:])
    # The database's address is not written down.
    assert os.environ["SATELLITE_TEST_DATABASE_URL"] not in text

"""Many writers at once, for concurrency tests."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from satellite.errors import SatelliteError


def in_parallel(work: Callable[[int], Any], count: int) -> list[Any]:
    """Run work(0..count-1) on `count` threads released together; returns each result, or the
    SatelliteError it raised (a refusal). Any other exception fails the test."""
    results: list[Any] = [None] * count
    crashes: list[BaseException] = []
    start = threading.Barrier(count)

    def run(index: int) -> None:
        start.wait()
        try:
            results[index] = work(index)
        except SatelliteError as exc:
            results[index] = exc
        except BaseException as exc:  # pragma: no cover - reported below
            crashes.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert crashes == [], f"{len(crashes)} writers crashed, first: {crashes[0]!r}"
    return results

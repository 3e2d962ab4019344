"""A small closed-loop load generator: C threads call as fast as answers come back."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class LoadResult:
    seconds: float
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    first_error: str = ""

    @property
    def requests(self) -> int:
        return len(self.latencies)

    @property
    def throughput(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def percentile(self, p: float) -> float:
        """Latency at percentile p (0-100), in milliseconds."""
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        index = min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))
        return ordered[index] * 1000

    def as_dict(self) -> dict[str, float | int | str]:
        return {"requests": self.requests, "errors": self.errors, "seconds": round(self.seconds, 3),
                "throughput": round(self.throughput, 1), "p50_ms": round(self.percentile(50), 2),
                "p90_ms": round(self.percentile(90), 2), "p99_ms": round(self.percentile(99), 2),
                "first_error": self.first_error}


def drive(make_worker: Callable[[int], Callable[[], None]], duration: float,
          concurrency: int) -> LoadResult:
    """Run `concurrency` workers for `duration` seconds; each call of a worker is one request.

    A worker raises to count an error. Returns latencies of the successful calls, in worker
    order and, for each worker, in call order.
    """
    workers = [make_worker(i) for i in range(concurrency)]
    results = [LoadResult(0.0) for _ in workers]
    start = threading.Barrier(concurrency + 1)
    deadline = [0.0]

    def run(index: int) -> None:
        call, result = workers[index], results[index]
        start.wait()
        while True:
            began = time.perf_counter()
            if began >= deadline[0]:
                return
            try:
                call()
            except Exception as exc:  # every failure is counted and reported, none is fatal
                result.errors += 1
                result.first_error = result.first_error or str(exc)
                continue
            result.latencies.append(time.perf_counter() - began)

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    began = time.perf_counter()
    deadline[0] = began + duration
    start.wait()
    for thread in threads:
        thread.join()
    total = LoadResult(time.perf_counter() - began)
    for result in results:
        total.latencies.extend(result.latencies)
        total.errors += result.errors
        total.first_error = total.first_error or result.first_error
    return total

"""Retry delays: exponential backoff with jitter, the one rule every retrying job uses."""

from __future__ import annotations

from collections.abc import Callable


def backoff_delay(base_seconds: float, failures: int, cap_seconds: float,
                  rng: Callable[[], float]) -> float:
    """base * 2^(failures-1), capped, then scaled by a random factor in [0.5, 1) so nodes or
    channels that failed together do not retry together."""
    delay = min(cap_seconds, base_seconds * 2 ** max(failures - 1, 0))
    return float(delay * (0.5 + rng() / 2))

"""The fault campaign: short under `make test`, long under `make test-reliability`.

SATELLITE_RELIABILITY_ROUNDS sets how many rounds each campaign test runs (default: a few, so
the whole short campaign stays well under a minute on two cores).
"""

from __future__ import annotations

import os

SHORT_ROUNDS = 3


def rounds(short: int = SHORT_ROUNDS) -> int:
    """How many rounds a campaign test runs: `short` unless the environment asks for more."""
    value = os.environ.get("SATELLITE_RELIABILITY_ROUNDS", "")
    return max(int(value), 1) if value.strip().isdigit() else short



from tests.devices.fixtures import app, authority, sealer, site, transport  # noqa: E402

__all__ = ["app", "authority", "rounds", "sealer", "site", "transport"]

"""The fault campaign: short under `make test`, long under `make test-reliability`.

SATELLITE_RELIABILITY_ROUNDS sets how many rounds each campaign test runs (default: a few, so
the whole short campaign stays well under a minute on two cores).
"""

from __future__ import annotations

import os

from tests.cloudsync.conftest import abc, anchored, central, response, satellite_id
from tests.devices.fixtures import app, authority, sealer, site, transport
from tests.web.conftest import bearer, client, make_client

SHORT_ROUNDS = 3


def long_campaign() -> bool:
    """Whether this is the long campaign (`make test-reliability`)."""
    return os.environ.get("SATELLITE_RELIABILITY_ROUNDS", "").strip().isdigit()


def rounds(short: int = SHORT_ROUNDS) -> int:
    """How many rounds a campaign test runs: `short` unless the environment asks for more."""
    value = os.environ.get("SATELLITE_RELIABILITY_ROUNDS", "")
    return max(int(value), 1) if value.strip().isdigit() else short


__all__ = ["abc", "anchored", "app", "authority", "bearer", "central", "client", "long_campaign",
           "make_client", "response", "rounds", "satellite_id", "sealer", "site", "transport"]

"""License pools' scheduled work: pools a new day moved, and the usage history."""

from __future__ import annotations

from satellite.config import Settings
from satellite.jobs import Job
from satellite.licenses.pools import refresh_pools_job
from satellite.licenses.usage_history import usage_history_job


def jobs(settings: Settings) -> list[Job]:
    return [Job("refresh-pools", refresh_pools_job, 3600.0),
            Job("usage-history", usage_history_job, 3600.0)]

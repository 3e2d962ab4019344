"""Network sync's scheduled work (only when central_url is set)."""

from __future__ import annotations

from satellite.cloudsync.network import TICK_SECONDS, sync_job
from satellite.config import Settings
from satellite.jobs import Job


def jobs(settings: Settings) -> list[Job]:
    return [Job("sync", sync_job, TICK_SECONDS)] if settings.central_url else []

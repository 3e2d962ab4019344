"""Devices' scheduled work: aging (authorization window, ID certificate expiry)."""

from __future__ import annotations

from satellite.config import Settings
from satellite.devices.aging import aging_job
from satellite.jobs import Job


def jobs(settings: Settings) -> list[Job]:
    return [Job("age-devices", aging_job, 3600.0)]

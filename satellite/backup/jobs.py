"""Scheduled backups (only when backup_dir is set)."""

from __future__ import annotations

from satellite.backup.schedule import TICK_SECONDS, backup_job
from satellite.config import Settings
from satellite.jobs import Job


def jobs(settings: Settings) -> list[Job]:
    return [Job("backup", backup_job, TICK_SECONDS)] if settings.backup_dir else []

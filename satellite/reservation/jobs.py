"""Periodic work of offline reservations, registered with the scheduler."""

from __future__ import annotations

import logging

from satellite.config import Settings
from satellite.jobs import Job
from satellite.reservation import service
from satellite.uow import Database

log = logging.getLogger(__name__)


def release_ended_terms(db: Database, settings: Settings) -> int:
    """Stop reserving TERM lines past their end date. Returns how many reservations changed."""
    with db.uow() as uow:
        changed = service.release_ended_terms(uow)
        uow.commit()
    if changed:
        log.info("released ended TERM licenses of %d reservations", changed)
    return changed


def jobs(settings: Settings) -> list[Job]:
    return [Job("release-ended-terms", release_ended_terms, 3600.0)]

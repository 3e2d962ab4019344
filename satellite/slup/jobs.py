"""SLUP devices' scheduled work: their evaluation periods (devices.evaluation)."""

from __future__ import annotations

from satellite.config import Settings
from satellite.jobs import Job
from satellite.slup.service import review_evaluations
from satellite.uow import Database


def evaluation_job(db: Database, settings: Settings) -> None:
    """Devices whose evaluation expired, or whose licenses arrived, change state."""
    with db.uow() as uow:
        review_evaluations(uow)
        uow.commit()


def jobs(settings: Settings) -> list[Job]:
    return [Job("review-evaluations", evaluation_job, 3600.0)]

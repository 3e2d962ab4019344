"""The background scheduler: started by `satellite serve` only.

Jobs are plain functions taking their dependencies; each domain lists its own in `jobs()`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from apscheduler.schedulers.background import BackgroundScheduler

from satellite.config import Settings
from satellite.leader import Leadership
from satellite.uow import Database

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    func: Callable[[Database, Settings], object]
    interval_seconds: float


def all_jobs(settings: Settings) -> list[Job]:
    """Every periodic job of the appliance."""
    from satellite.reservation import jobs as reservation_jobs

    return [*reservation_jobs.jobs()]


def _run(job: Job, db: Database, settings: Settings, leadership: Leadership) -> None:
    # Every node ticks; only the leader works, so each interval's run happens once across nodes.
    if not leadership.is_leader():
        return
    try:
        job.func(db, settings)
    except Exception:
        log.exception("scheduled job %s failed", job.name)


def build_scheduler(db: Database, settings: Settings, leadership: Leadership,
                    jobs: list[Job] | None = None) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone="UTC")
    for job in all_jobs(settings) if jobs is None else jobs:
        scheduler.add_job(_run, "interval", seconds=job.interval_seconds,
                          args=(job, db, settings, leadership), id=job.name, max_instances=1, coalesce=True)
    return scheduler

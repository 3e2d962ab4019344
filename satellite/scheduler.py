"""The background scheduler: started by `satellite serve` only.

Jobs are plain functions taking their dependencies; each domain lists its own in `jobs()`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.orm import Session

from satellite.config import Settings
from satellite.leader import Leadership
from satellite.state import get_state, set_state
from satellite.uow import Database

log = logging.getLogger(__name__)
_LAST_RUN = "job_last_run:"


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
    outcome = "ok"
    try:
        job.func(db, settings)
    except Exception:
        log.exception("scheduled job %s failed", job.name)
        outcome = "failed"
    try:
        with db.uow() as uow:
            set_state(uow.session, _LAST_RUN + job.name,
                      json.dumps({"at": uow.clock.now().isoformat(), "outcome": outcome}))
            uow.commit()
    except Exception:
        log.exception("could not record the run of scheduled job %s", job.name)


@dataclass(frozen=True)
class JobStatus:
    name: str
    interval_seconds: float
    last_run: str | None
    outcome: str | None


def job_statuses(session: Session, settings: Settings) -> list[JobStatus]:
    """Every periodic job with its interval and its last recorded run (for the health page)."""
    found = []
    for job in all_jobs(settings):
        raw = get_state(session, _LAST_RUN + job.name)
        last = json.loads(raw) if raw else {}
        found.append(JobStatus(job.name, job.interval_seconds, last.get("at"), last.get("outcome")))
    return found


def build_scheduler(db: Database, settings: Settings, leadership: Leadership,
                    jobs: list[Job] | None = None) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone="UTC")
    for job in all_jobs(settings) if jobs is None else jobs:
        scheduler.add_job(_run, "interval", seconds=job.interval_seconds,
                          args=(job, db, settings, leadership), id=job.name, max_instances=1, coalesce=True)
    return scheduler

"""The background scheduler: started by `satellite serve` only.

Jobs are plain functions taking their dependencies; each domain lists its own in `jobs()`.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import select

from satellite.config import Settings
from satellite.leader import Leadership
from satellite.state import StateEntry, get_state, set_state
from satellite.uow import Database

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Job:
    name: str
    func: Callable[[Database, Settings], object]
    interval_seconds: float


def all_jobs(settings: Settings) -> list[Job]:
    """Every periodic job of the appliance."""
    from satellite.alerts.delivery import jobs as alert_jobs
    from satellite.cloudsync.network import jobs as sync_jobs
    from satellite.devices.aging import aging_job
    from satellite.licenses.history import jobs as history_jobs
    from satellite.reservation import jobs as reservation_jobs

    return [*reservation_jobs.jobs(), Job("age-devices", aging_job, 3600), *sync_jobs(settings),
            *alert_jobs(), *history_jobs()]


@dataclass
class JobRun:
    """What the last run of a job did; kept in the database so every node can show it."""

    name: str
    last_started: str = ""
    last_finished: str = ""
    last_outcome: str = ""
    last_error: str = ""
    runs: int = 0
    failures: int = 0


_PREFIX = "job:"


def job_runs(db: Database) -> list[JobRun]:
    with db.reader() as uow:
        rows = uow.session.scalars(select(StateEntry).where(StateEntry.key.startswith(_PREFIX)))
        return sorted((JobRun(**json.loads(r.value)) for r in rows), key=lambda j: j.name)


def record_run(db: Database, name: str, started: datetime, error: str = "") -> None:
    with db.uow() as uow:
        raw = get_state(uow.session, _PREFIX + name)
        run = JobRun(**json.loads(raw)) if raw else JobRun(name)
        run.last_started = started.isoformat()
        run.last_finished = uow.clock.now().isoformat()
        run.last_outcome = "failed" if error else "ok"
        run.last_error = error
        run.runs += 1
        run.failures += 1 if error else 0
        set_state(uow.session, _PREFIX + name, json.dumps(asdict(run)))
        uow.commit()


def run_job(job: Job, db: Database, settings: Settings) -> None:
    """Run one job now and record how it went; a failure is logged, never raised."""
    started = db.clock.now()
    error = ""
    try:
        job.func(db, settings)
    except Exception as exc:
        log.exception("scheduled job %s failed", job.name)
        error = f"{type(exc).__name__}: {exc}"[:500]
    try:
        record_run(db, job.name, started, error)
    except Exception:
        log.exception("could not record the run of job %s", job.name)


def _run(job: Job, db: Database, settings: Settings, leadership: Leadership) -> None:
    # Every node ticks; only the leader works, so each interval's run happens once across nodes.
    if not leadership.is_leader():
        return
    run_job(job, db, settings)


def build_scheduler(db: Database, settings: Settings, leadership: Leadership,
                    jobs: list[Job] | None = None) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone="UTC")
    for job in all_jobs(settings) if jobs is None else jobs:
        scheduler.add_job(_run, "interval", seconds=job.interval_seconds,
                          args=(job, db, settings, leadership), id=job.name, max_instances=1, coalesce=True)
    return scheduler

"""The background scheduler: started by `satellite serve` only.

Jobs are plain functions taking their dependencies; each domain lists its own in `jobs()`.
Every node ticks each job; only the leader (see leader.py) runs it, and only once the job is due
by the run history in the database, so a job runs once per interval across nodes and a node
that takes over continues the schedule rather than restarting it.
"""

from __future__ import annotations

import json
import logging
from dataclasses import asdict, dataclass
from datetime import datetime

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import select

from satellite import clockcheck, storage
from satellite.alerts import jobs as alert_jobs
from satellite.backup import jobs as backup_jobs
from satellite.cloudsync import jobs as sync_jobs
from satellite.config import Settings, parse_job_intervals
from satellite.devices import jobs as device_jobs
from satellite.errors import ConfigError, StorageUnavailable
from satellite.jobruns import add_run, last_started
from satellite.jobs import Job
from satellite.leader import Leadership, node_name
from satellite.licenses import jobs as license_jobs
from satellite.reservation import jobs as reservation_jobs
from satellite.slup import jobs as slup_jobs
from satellite.state import StateEntry, get_state, set_state
from satellite.uow import Database

log = logging.getLogger(__name__)


DOMAINS = (clockcheck, storage, alert_jobs, backup_jobs, sync_jobs, device_jobs, license_jobs,
           reservation_jobs, slup_jobs)
# Names jobs had before; the job_intervals setting may still use them.
RENAMED = {"alerts": "check-alerts", "reservation.release_ended_terms": "release-ended-terms"}


def all_jobs(settings: Settings) -> list[Job]:
    """Every periodic job of the appliance: each domain's `jobs(settings)`."""
    return [job for domain in DOMAINS for job in domain.jobs(settings)]


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
        add_run(uow.session, name, node_name(), started, uow.clock.now(), error)
        uow.commit()


def run_job(job: Job, db: Database, settings: Settings) -> None:
    """Run one job now and record how it went; a failure is logged, never raised."""
    started = db.clock.now()
    error = ""
    try:
        job.func(db, settings)
    except StorageUnavailable as exc:
        # Said once by the storage watch and shown by /readyz: no traceback every minute.
        log.warning("scheduled job %s did not run: %s", job.name, exc.message)
        return
    except Exception as exc:
        log.exception("scheduled job %s failed", job.name)
        error = f"{type(exc).__name__}: {exc}"[:500]
    try:
        record_run(db, job.name, started, error)
    except StorageUnavailable as exc:
        log.warning("could not record the run of job %s: %s", job.name, exc.message)
    except Exception:
        log.exception("could not record the run of job %s", job.name)


# A job is ticked at least this often, so a node that takes over, or a restarted one, runs a
# long-interval job soon after it is due rather than a whole interval after its own start.
MAX_TICK_SECONDS = 60.0
# Timer jitter: a tick this much of a tick early still counts as on time.
_EARLY = 0.1


def tick_seconds(job: Job) -> float:
    return min(job.interval_seconds, MAX_TICK_SECONDS)


# A last run recorded further ahead than this is not waited for: the clock moved back.
FUTURE_SLACK_SECONDS = 60.0


def is_due(db: Database, job: Job) -> bool:
    """Whether the job's last run, on any node, started an interval ago (or never happened),
    or is recorded in the future (the clock was set back: waiting for it would stop the job)."""
    with db.reader() as uow:
        last = last_started(uow.session, job.name)
        now = uow.clock.now()
    if last is None:
        return True
    elapsed = (now - last).total_seconds()
    if elapsed < -FUTURE_SLACK_SECONDS:
        log.warning("job %s last ran at %s, %d seconds in the future by this clock: running it "
                    "now", job.name, last.isoformat(), -elapsed)
        return True
    return elapsed >= job.interval_seconds - _EARLY * tick_seconds(job)


def _tick(job: Job, db: Database, settings: Settings, leadership: Leadership) -> None:
    # Every node ticks; only the leader works, so each interval's run happens once across nodes.
    if not leadership.is_leader():
        return
    try:
        due = is_due(db, job)
    except Exception:
        log.exception("could not read when job %s last ran", job.name)
        return
    if due:
        run_job(job, db, settings)


def scheduled_jobs(settings: Settings, jobs: list[Job] | None = None) -> list[Job]:
    """The jobs `satellite serve` runs, at the intervals the `job_intervals` setting gives.

    Raises ConfigError when that setting names no job.
    """
    jobs = all_jobs(settings) if jobs is None else jobs
    chosen = {RENAMED.get(name, name): seconds
              for name, seconds in parse_job_intervals(settings.job_intervals).items()}
    unknown = sorted(set(chosen) - {job.name for job in jobs})
    if unknown:
        raise ConfigError(f"setting job_intervals: no scheduled job is called {unknown[0]!r} "
                          f"(jobs: {', '.join(job.name for job in jobs)})")
    return [Job(job.name, job.func, chosen.get(job.name, job.interval_seconds)) for job in jobs]


def build_scheduler(db: Database, settings: Settings, leadership: Leadership,
                    jobs: list[Job] | None = None) -> BackgroundScheduler:
    """The scheduler of `satellite serve`. Raises ConfigError for a bad `job_intervals` setting."""
    scheduler = BackgroundScheduler(timezone="UTC")
    chosen = scheduled_jobs(settings, jobs)
    log.info("scheduled jobs: %s", ", ".join(f"{job.name} every {job.interval_seconds:g} s"
                                             for job in chosen))
    for job in chosen:
        # No misfire limit: a tick that a busy machine delays still happens (once, coalesced).
        scheduler.add_job(_tick, "interval", seconds=tick_seconds(job),
                          args=(job, db, settings, leadership), id=job.name, max_instances=1,
                          coalesce=True, misfire_grace_time=None)
    return scheduler

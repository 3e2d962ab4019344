"""The history of scheduled job runs: one row per run, with the node that ran it.

Kept in the database so that every node sees when a job last ran (and so whether it is due),
and so that an operator can check that a job ran once per interval across the cluster.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Index, String, Text, delete, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from satellite.db import Base

# Rows older than this are dropped when the same job runs again.
RETENTION = timedelta(days=7)


class JobRunRecord(Base):
    __tablename__ = "job_runs"
    __table_args__ = (Index("ix_job_runs_job_started_at", "job", "started_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(100))
    # hostname:pid of the `satellite serve` process that ran it.
    node: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime]
    outcome: Mapped[str] = mapped_column(String(16))
    error: Mapped[str] = mapped_column(Text, default="")


@dataclass(frozen=True)
class RunView:
    job: str
    node: str
    started_at: datetime
    finished_at: datetime
    outcome: str
    error: str


def add_run(session: Session, job: str, node: str, started: datetime, finished: datetime,
            error: str) -> None:
    """Record one run and forget this job's runs older than the retention."""
    session.add(JobRunRecord(job=job, node=node, started_at=started, finished_at=finished,
                             outcome="failed" if error else "ok", error=error))
    session.execute(delete(JobRunRecord).where(JobRunRecord.job == job,
                                               JobRunRecord.started_at < finished - RETENTION))


def last_started(session: Session, job: str) -> datetime | None:
    """When the newest recorded run of `job` started, on whichever node."""
    found: datetime | None = session.scalar(
        select(func.max(JobRunRecord.started_at)).where(JobRunRecord.job == job))
    return found


def recent_runs(session: Session, job: str, limit: int = 100) -> list[RunView]:
    """The newest runs of `job`, oldest first."""
    rows = session.scalars(select(JobRunRecord).where(JobRunRecord.job == job)
                           .order_by(JobRunRecord.started_at.desc()).limit(limit)).all()
    return [RunView(r.job, r.node, r.started_at, r.finished_at, r.outcome, r.error)
            for r in reversed(rows)]

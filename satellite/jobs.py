"""A scheduled job: a plain function of (Database, Settings) and how often it runs.

Each domain lists its jobs in its own `jobs.py` as `jobs(settings) -> list[Job]`; the scheduler
(scheduler.py, started by `satellite serve` only) collects them. Job names are verb-object in
lower case with hyphens, as the `job_intervals` setting names them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from satellite.config import Settings
from satellite.uow import Database


@dataclass(frozen=True)
class Job:
    name: str
    func: Callable[[Database, Settings], object]
    interval_seconds: float

"""Storage faults: a full disk or a read-only data dir, named plainly and seen by /readyz.

A database or file error caused by the storage (SQLite's "database or disk is full" or
"readonly database", PostgreSQL's disk_full, ENOSPC, EROFS ...) becomes StorageUnavailable
where the unit of work ends, so every adapter answers it the same way: 503 with a JSON error
naming the cause to devices and API callers, one line on stderr from the CLI. Nothing was
written then. The process's StorageWatch remembers the outage: /readyz answers 503 while the
data dir cannot be written or a write failed in the last RECENT_SECONDS, the scheduler's
check raises the storage alert (at once where the database can still record it, otherwise as
soon as it can, naming when the outage began), and all of it clears by itself once a write
succeeds again.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import threading
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from satellite.alerts.models import STORAGE_UNAVAILABLE
from satellite.errors import StorageUnavailable

if TYPE_CHECKING:
    from satellite.config import Settings
    from satellite.jobs import Job
    from satellite.uow import Database

log = logging.getLogger(__name__)

# A write that failed this recently still makes /readyz answer "not ready".
RECENT_SECONDS = 30.0
_PROBE_BYTES = 64 * 1024

_SQLITE_CAUSES = (
    ("database or disk is full", "the disk holding the database is full"),
    ("readonly database", "the database file or its directory is read-only"),
    ("unable to open database file",
     "the database file cannot be opened (its directory is missing, read-only or full)"),
    ("disk i/o error", "the disk holding the database reported an I/O error"),
)
# PostgreSQL SQLSTATEs that are about the server's storage, not the request.
_PG_CAUSES = {"53100": "PostgreSQL's disk is full",
              "25006": "the PostgreSQL server is read-only",
              "58030": "PostgreSQL reported an I/O error"}
_OS_CAUSES = {errno.ENOSPC: "the disk is full", errno.EROFS: "the file system is read-only",
              errno.EDQUOT: "the disk quota is exhausted", errno.EIO: "an I/O error",
              errno.EACCES: "permission denied"}


def storage_cause(exc: BaseException) -> str | None:
    """What about the storage made `exc` happen, in words, or None if it is not a storage
    fault (then it is a bug or a bad request, and is not hidden)."""
    for error in _chain(exc):
        sqlstate = getattr(error, "sqlstate", None)
        if isinstance(sqlstate, str) and sqlstate in _PG_CAUSES:
            return _PG_CAUSES[sqlstate]
        if type(error).__module__.startswith("sqlite3"):
            text = str(error).lower()
            for needle, cause in _SQLITE_CAUSES:
                if needle in text:
                    return cause
        if isinstance(error, OSError) and error.errno in _OS_CAUSES:
            where = f" ({error.filename})" if error.filename else ""
            return f"{_OS_CAUSES[error.errno]}{where}"
    return None


def unavailable(exc: BaseException, watch: StorageWatch, at: datetime) -> StorageUnavailable | None:
    """The StorageUnavailable to raise instead of `exc` (noted on `watch`), or None when `exc`
    is not a storage fault."""
    cause = storage_cause(exc)
    if cause is None:
        return None
    watch.failed(cause, at)
    return StorageUnavailable(f"storage unavailable: {cause}; nothing was changed, try again "
                              "once it is fixed")


def _chain(exc: BaseException) -> list[BaseException]:
    found: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in found and len(found) < 10:
        found.append(current)
        orig = getattr(current, "orig", None)  # SQLAlchemy's DBAPIError wraps the driver's
        current = orig if isinstance(orig, BaseException) else (
            current.__cause__ or current.__context__)
    return found


def probe(directory: Path) -> str | None:
    """Write, sync and remove a small file in `directory`; the problem in words, or None."""
    path = directory / f".satellite-probe-{os.getpid()}-{threading.get_ident()}"
    try:
        with path.open("wb") as out:
            out.write(b"\0" * _PROBE_BYTES)
            out.flush()
            os.fsync(out.fileno())
    except OSError as exc:
        return f"cannot write to {directory}: {storage_cause(exc) or exc.strerror or exc}"
    finally:
        with contextlib.suppress(OSError):
            path.unlink(missing_ok=True)
    return None


class StorageWatch:
    """One process's record of its storage faults. Thread-safe."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._last: tuple[float, str] | None = None
        self.since: datetime | None = None  # when the current outage began
        self._unreported: datetime | None = None  # when an outage not yet alerted began

    def failed(self, cause: str, at: datetime) -> None:
        with self._lock:
            first = self.since is None
            self._last = (self._monotonic(), cause)
            if first:
                self.since = at
                self._unreported = self._unreported or at
        if first:
            log.error("storage unavailable: %s; writes are refused until it is fixed", cause)

    def succeeded(self) -> None:
        """A write committed: the outage, if any, is over (cheap when there is none)."""
        if self.since is None:
            return
        with self._lock:
            since, self.since, self._last = self.since, None, None
        if since is not None:
            log.warning("storage writable again (unavailable since %s)", since.isoformat())

    def recent(self) -> str | None:
        """The cause of a write that failed in the last RECENT_SECONDS, or None."""
        with self._lock:
            if self._last is None or self._monotonic() - self._last[0] > RECENT_SECONDS:
                return None
            return self._last[1]

    def take_unreported(self) -> datetime | None:
        """When the last outage that no alert has told of began; then forget it."""
        with self._lock:
            began, self._unreported = self._unreported, None
        return began


def storage_problem(db: Database, settings: Settings) -> str | None:
    """Why the satellite cannot write its data right now (for /readyz), or None."""
    directories = {settings.data_dir}
    database = db.engine.url.database
    if db.engine.dialect.name == "sqlite" and database and database != ":memory:":
        directories.add(Path(database).parent)
    for directory in sorted(directories):
        if directory.exists():
            problem = probe(directory)
            if problem is not None:
                return problem
    return db.storage_watch.recent()


def storage_job(db: Database, settings: Settings) -> None:
    """Every minute: raise the storage alert while writes fail, clear it when they work again
    (the alert is raised late, naming when it began, where the database could not take it)."""
    from satellite.alerts.service import clear_alert, raise_alert

    problem = storage_problem(db, settings)
    watch = db.storage_watch
    with db.uow() as uow:
        now = uow.clock.now()
        if problem is not None:
            raise_alert(uow.session, STORAGE_UNAVAILABLE, STORAGE_UNAVAILABLE,
                        f"the satellite cannot write its data since "
                        f"{watch.since or now:%Y-%m-%d %H:%M:%S} UTC: {problem}", now)
            uow.commit()
            watch.take_unreported()  # told now, where the database can still record it
            return
        ended = watch.take_unreported()
        if ended is not None:
            raise_alert(uow.session, STORAGE_UNAVAILABLE, STORAGE_UNAVAILABLE,
                        f"the satellite could not write its data from "
                        f"{ended:%Y-%m-%d %H:%M:%S} to {now:%Y-%m-%d %H:%M:%S} UTC", now)
        clear_alert(uow.session, STORAGE_UNAVAILABLE, now)
        uow.commit()


def jobs(_settings: Settings) -> list[Job]:
    from satellite.jobs import Job

    return [Job("check-storage", storage_job, 60.0)]

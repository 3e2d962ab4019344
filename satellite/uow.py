"""Unit of work: one transaction per state change, rolled back unless committed."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from datetime import datetime
from types import TracebackType
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from satellite.clock import Clock, SystemClock
from satellite.clockcheck import ClockWatch
from satellite.db import session_factories
from satellite.errors import SatelliteError
from satellite.storage import StorageWatch, unavailable


class Database:
    """The process's handle on the database: an engine plus session factories and a clock."""

    def __init__(self, engine: Engine, clock: Clock | None = None,
                 session_hooks: Iterable[Callable[[sessionmaker[Any]], None]] = ()) -> None:
        self.engine = engine
        self.clock: Clock = clock or SystemClock()
        # This process's watch on its clock (see clockcheck): jumps and device skew refusals.
        self.clock_watch = ClockWatch()
        # And on its storage (see storage): a full disk or read-only data dir.
        self.storage_watch = StorageWatch()
        self._writer, self._reader = session_factories(engine)
        # Rules the domain keeps in every session (bootstrap.database names them).
        for bind in session_hooks:
            bind(self._writer)
            bind(self._reader)
        # SQLite has one writer at a time. Writers of this process queue on a lock instead of
        # meeting in SQLite's busy handler, which sleeps up to 100 ms between retries.
        self._write_lock = threading.RLock() if engine.dialect.name == "sqlite" else None

    def uow(self) -> UnitOfWork:
        return UnitOfWork(self._writer, self.clock, self._write_lock, self.storage_watch)

    def reader(self) -> UnitOfWork:
        """A unit of work for reads: it never takes SQLite's write lock."""
        return UnitOfWork(self._reader, self.clock, watch=self.storage_watch)

    def dispose(self) -> None:
        self.engine.dispose()


class UnitOfWork:
    def __init__(self, factory: sessionmaker[Any], clock: Clock,
                 lock: threading.RLock | None = None, watch: StorageWatch | None = None) -> None:
        self._factory = factory
        self.clock = clock
        self._lock = lock
        self._watch = watch
        self._session: Session | None = None

    @property
    def session(self) -> Session:
        if self._session is None:
            raise RuntimeError("unit of work used outside its `with` block")
        return self._session

    def __enter__(self) -> UnitOfWork:
        if self._lock is not None:
            self._lock.acquire()
        self._session = self._factory()
        # Writers that derive stored values from dates (pools.py) take "today" from here.
        self._session.info["clock"] = self.clock
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        session = self.session
        try:
            session.rollback()
        except Exception:
            if exc is None:
                raise
            # The original error says more than the failed rollback after it.
        finally:
            session.close()
            self._session = None
            if self._lock is not None:
                self._lock.release()
        # A full disk or read-only storage is named for what it is, in every adapter.
        if exc is not None and self._watch is not None and not isinstance(exc, SatelliteError):
            instead = unavailable(exc, self._watch, self.clock.now())
            if instead is not None:
                raise instead from exc

    def commit(self) -> None:
        session = self.session
        # What domain code asked to run once its writes are all made (licenses.compliance);
        # flushed first, since a flush's own hooks may ask for more.
        session.flush()
        while hooks := session.info.pop(_BEFORE_COMMIT, None):
            for hook in hooks.values():
                hook(session, self.clock.now())
            session.flush()
        session.commit()
        if self._watch is not None:
            self._watch.succeeded()

    def rollback(self) -> None:
        self.session.info.pop(_BEFORE_COMMIT, None)
        self.session.rollback()


_BEFORE_COMMIT = "uow.before_commit"


def before_commit(session: Session, name: str, hook: Callable[[Session, datetime], None]) -> None:
    """Run `hook(session, now)` once when this transaction's unit of work commits (not when it
    rolls back); registering the same name again replaces it."""
    session.info.setdefault(_BEFORE_COMMIT, {})[name] = hook

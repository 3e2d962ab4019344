"""Which node runs scheduled jobs: a PostgreSQL advisory lock elects one leader among nodes.

The leader holds a session-level `pg_try_advisory_lock` on a dedicated connection; when its
process dies the connection closes, the server releases the lock, and another node takes it at
its next tick. On SQLite a single node is assumed, so it always leads.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import socket
import threading
from typing import Protocol

from sqlalchemy import Connection, Engine, text
from sqlalchemy.exc import DBAPIError

log = logging.getLogger(__name__)


# The leader's lock connection is named this (PostgreSQL's application_name), so any node can
# tell which node leads: see leader_node().
LEADER_PREFIX = "satellite leader "


def node_name() -> str:
    """How this process appears in the run history: host name and process id."""
    return f"{socket.gethostname()}:{os.getpid()}"


def leader_lock_key(satellite_id: str) -> int:
    """The advisory lock key of one satellite's scheduler (a signed 64-bit number).

    Advisory locks are per database, not per schema: satellites whose schemas share one
    PostgreSQL database each elect their own leader.
    """
    digest = hashlib.sha256(f"satellite scheduler {satellite_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class Leadership(Protocol):
    def is_leader(self) -> bool: ...

    def close(self) -> None: ...


class SingleNode:
    """SQLite: one node serves the data dir, so it runs every job."""

    def is_leader(self) -> bool:
        return True

    def close(self) -> None:
        return None


class AdvisoryLockLeader:
    def __init__(self, engine: Engine, key: int) -> None:
        self._engine = engine
        self._key = key
        self._conn: Connection | None = None
        self._lock = threading.Lock()

    def is_leader(self) -> bool:
        """Keep or try to take the lock; never raises (a database outage means "not leader")."""
        with self._lock:
            if self._conn is not None:
                if self._alive(self._conn):
                    return True
                log.warning("lost the scheduler leader lock (database connection broken)")
                self._discard()
            return self._try_acquire()

    def _alive(self, conn: Connection) -> bool:
        try:
            conn.execute(text("SELECT 1"))
        except DBAPIError:
            return False
        return True

    def _try_acquire(self) -> bool:
        try:
            conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        except DBAPIError:
            return False
        try:
            got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": self._key}).scalar())
        except DBAPIError:
            conn.invalidate()
            conn.close()
            return False
        if not got:
            conn.close()
            return False
        self._conn = conn
        with contextlib.suppress(DBAPIError):  # only a label: leading does not depend on it
            conn.execute(text("SELECT set_config('application_name', :name, false)"),
                         {"name": (LEADER_PREFIX + node_name())[:63]})
        log.info("this node now leads scheduled jobs")
        return True

    def _discard(self) -> None:
        if self._conn is not None:
            self._conn.invalidate()
            self._conn.close()
            self._conn = None

    def close(self) -> None:
        with self._lock:
            if self._conn is None:
                return
            try:
                self._conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self._key})
                self._conn.close()
            except DBAPIError:
                self._conn.invalidate()
            self._conn = None


def leader_node(engine: Engine, satellite_id: str) -> str | None:
    """The node (host:pid) holding the scheduler's leader lock now; None when no node does
    (or the database is not PostgreSQL, where the single node always leads)."""
    if engine.dialect.name != "postgresql":
        return None
    key = leader_lock_key(satellite_id) & 0xFFFFFFFFFFFFFFFF
    with engine.connect() as conn:
        # A bigint advisory lock is listed as its high and low 32 bits (classid, objid).
        name = conn.execute(text(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1 "
            "AND l.classid = :high AND l.objid = :low AND l.database = "
            "(SELECT oid FROM pg_database WHERE datname = current_database())"),
            {"high": key >> 32, "low": key & 0xFFFFFFFF}).scalar()
    if name is None:
        return None
    text_name = str(name)
    return text_name.removeprefix(LEADER_PREFIX) if text_name.startswith(LEADER_PREFIX) \
        else f"a node without a name ({text_name or 'unnamed connection'})"


def leadership_for(engine: Engine, satellite_id: str) -> Leadership:
    if engine.dialect.name == "postgresql":
        log.info("PostgreSQL database: other nodes may serve it too; scheduled jobs run on the "
                 "one node that holds the leader lock")
        return AdvisoryLockLeader(engine, leader_lock_key(satellite_id))
    log.info("SQLite database: a single node is assumed, and it runs every scheduled job")
    return SingleNode()

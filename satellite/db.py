"""Engine, declarative base and migrations. Nothing connects at import time."""

from __future__ import annotations

import os
from collections.abc import Collection, Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    DateTime,
    Engine,
    MetaData,
    and_,
    bindparam,
    create_engine,
    event,
    text,
)
from sqlalchemy.engine import make_url
from sqlalchemy.orm import DeclarativeBase, sessionmaker
from sqlalchemy.types import TypeDecorator

from satellite.clock import as_utc

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every engine (SQLite stores them naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = as_utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else as_utc(value)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {datetime: UTCDateTime()}


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine; SQLite gets WAL, foreign keys, a busy timeout and explicit BEGINs."""
    if url.startswith("sqlite"):
        connect_args = {"timeout": 30, "check_same_thread": False}
        if make_url(url).database not in (None, "", ":memory:"):
            # The most recently used connection first: SQLite keeps a page cache per
            # connection, and writes are one after another, so the next batch finds its pages
            # warm instead of taking the connection that has waited longest.
            kwargs.setdefault("pool_use_lifo", True)
        engine = create_engine(url, connect_args=connect_args, **kwargs)
        _configure_sqlite(engine)
        return engine
    return create_engine(url, pool_pre_ping=True, **kwargs)


def owner_only_sqlite(database: str | None) -> None:
    """Make the database file, and its -wal and -shm when present, readable by its owner only,
    whatever the umask. Done before WAL mode is set, so SQLite, which gives -wal and -shm the
    database file's mode, creates them 0600 too."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        if file.exists() and file.stat().st_mode & 0o077:
            os.chmod(file, 0o600)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        owner_only_sqlite(engine.url.database)
        # Let SQLAlchemy's "begin" event issue BEGIN itself, so writers can take the lock up front.
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        # Writers take the write lock at BEGIN: a deferred transaction that reads then writes
        # can fail with SQLITE_BUSY instead of waiting its turn.
        mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
        conn.exec_driver_sql(f"BEGIN {mode}")


def bind_list(name: str, count: int, type_: Any = None) -> list[BindParameter[Any]]:
    """`count` bind parameters name_0, name_1 ... for an IN list of a known length.

    A statement built with these (once per length) is compiled once and cached; an
    "expanding" IN parameter is re-rendered into the SQL text on every execution instead.
    """
    return [bindparam(f"{name}_{i}", type_=type_) for i in range(count)]


def list_params(name: str, values: Sequence[Any]) -> dict[str, Any]:
    """The values for bind_list(name, len(values))."""
    return {f"{name}_{i}": value for i, value in enumerate(values)}


def pairs_in(first: Any, second: Any,
             pairs: Collection[tuple[Any, Any]]) -> ColumnElement[bool]:
    """SQL condition: (first, second) is one of `pairs` or another combination of their
    values, a superset the caller narrows to the pairs. Two IN lists use a (first, second)
    index on every engine; SQLite scans the whole table for a list of pairs."""
    return and_(first.in_(sorted({a for a, _b in pairs})),
                second.in_(sorted({b for _a, b in pairs})))


# Values per IN list when a list may be long: well within every engine's bind-parameter limit.
IN_LIST_CHUNK = 500

T = TypeVar("T")


def in_chunks(values: Sequence[T], size: int = IN_LIST_CHUNK) -> Iterator[list[T]]:
    """`values` in consecutive lists of at most `size`, one IN list (statement) each."""
    for start in range(0, len(values), size):
        yield list(values[start:start + size])


def session_factories(engine: Engine) -> tuple[sessionmaker[Any], sessionmaker[Any]]:
    """Return (writer, reader) session factories; readers do not take SQLite's write lock."""
    writer = sessionmaker(bind=engine, expire_on_commit=False)
    reader = sessionmaker(
        bind=engine.execution_options(sqlite_begin="DEFERRED"), expire_on_commit=False
    )
    return writer, reader


def alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    cfg.attributes["engine"] = engine
    return cfg


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision (creating it on an empty database)."""
    from alembic import command

    _forget_superseded_revisions(engine)
    command.upgrade(alembic_config(engine), "heads")


def _forget_superseded_revisions(engine: Engine) -> None:
    """Let a database of a build with parallel migration branches upgrade.

    Such a build recorded one row per branch head (e.g. 0003 and 0004, both on 0001). Once the
    branches were joined into one line (0003 -> 0004), a recorded revision can be an ancestor of
    another recorded one, and Alembic refuses the pair as overlapping. Every recorded revision
    was applied, so the ancestor's row says nothing the descendant's does not: drop it.
    """
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(Path(__file__).parent / "migrations"))

    def ancestors(revision: str) -> set[str]:
        found: set[str] = set()
        pending = [revision]
        while pending:
            current = script.get_revision(pending.pop())
            if current is None:
                continue
            down = current.down_revision
            for parent in (down,) if isinstance(down, str) else down or ():
                if parent not in found:
                    found.add(parent)
                    pending.append(parent)
        return found

    with engine.begin() as conn:
        recorded = set(MigrationContext.configure(conn).get_current_heads())
        if len(recorded) < 2 or not recorded <= known_revisions():
            return  # nothing to settle, or a newer schema: the upgrade reports that
        superseded = {r for r in recorded for other in recorded - {r} if r in ancestors(other)}
        for revision in sorted(superseded):
            conn.execute(text("DELETE FROM alembic_version WHERE version_num = :revision"),
                         {"revision": revision})


def schema_revision(engine: Engine) -> tuple[str, ...]:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return tuple(sorted(MigrationContext.configure(conn).get_current_heads()))


def head_revisions() -> tuple[str, ...]:
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(Path(__file__).parent / "migrations"))
    return tuple(sorted(script.get_heads()))


def known_revisions() -> set[str]:
    """Every schema revision this version of Satellite knows (older ones can be migrated)."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(Path(__file__).parent / "migrations"))
    return {rev.revision for rev in script.walk_revisions()}

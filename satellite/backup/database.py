"""Consistent database snapshots: SQLite's online backup API, or `pg_dump` for PostgreSQL."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
from pathlib import Path
from urllib.parse import unquote

from sqlalchemy import inspect
from sqlalchemy.engine import URL, make_url

from satellite.db import make_engine
from satellite.errors import ConfigError, Conflict, SatelliteError

SQLITE_FILE = "database/satellite.db"
PG_FILE = "database/postgresql.dump"


def engine_kind(url: str) -> str:
    return "sqlite" if url.startswith("sqlite") else "postgresql"


def sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise ConfigError(f"the SQLite database {url!r} is not a file and cannot be backed up")
    return Path(database)


def pg_schema(url: str) -> str:
    """The schema Satellite's tables live in: the search_path of the URL's options, else public."""
    value = make_url(url).query.get("options", "")
    options = " ".join(value) if isinstance(value, tuple) else value
    match = re.search(r"-c\s*search_path=([^\s,]+)", unquote(options))
    return match.group(1) if match else "public"


def _libpq(url: str) -> tuple[str, dict[str, str]]:
    """A libpq connection string and environment (the password goes in PGPASSWORD, not argv)."""
    parsed: URL = make_url(url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    plain = parsed.set(drivername="postgresql", password=None)
    return plain.render_as_string(hide_password=False), env


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise ConfigError(f"backing up or restoring PostgreSQL needs `{name}` (package postgresql-client "
                          "of the server's major version), and it is not installed")
    return path


def _run(argv: list[str], env: dict[str, str], what: str) -> str:
    result = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        detail = (result.stderr.strip().splitlines() or ["no message"])[-1]
        raise SatelliteError(f"{what} failed: {detail}")
    return result.stdout


def snapshot(url: str, staging: Path) -> str:
    """Copy the database into `staging` as one consistent snapshot; return its archive name."""
    if engine_kind(url) == "sqlite":
        target = staging / SQLITE_FILE
        target.parent.mkdir(parents=True, exist_ok=True)
        source = sqlite3.connect(sqlite_path(url), timeout=30)
        dest = sqlite3.connect(target)
        try:
            # One step: the copy is a single read transaction, so writers cannot tear it.
            source.backup(dest)
        finally:
            dest.close()
            source.close()
        return SQLITE_FILE
    target = staging / PG_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    dsn, env = _libpq(url)
    _run([_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
          f"--schema={pg_schema(url)}", f"--file={target}", f"--dbname={dsn}"], env, "pg_dump")
    return PG_FILE


def ensure_empty(url: str) -> None:
    """Raises Conflict when the target database already holds tables."""
    if engine_kind(url) == "sqlite":
        path = sqlite_path(url)
        if path.exists() and path.stat().st_size > 0:
            raise Conflict(f"the database file {path} exists already; restore only into an empty place")
        return
    engine = make_engine(url)
    try:
        tables = inspect(engine).get_table_names(schema=pg_schema(url))
    finally:
        engine.dispose()
    if tables:
        raise Conflict(f"the PostgreSQL schema {pg_schema(url)!r} already holds tables "
                       f"({', '.join(sorted(tables)[:3])}...); restore only into an empty schema")


def load(url: str, source: Path) -> None:
    """Put a snapshot in place. The target was checked empty by ensure_empty()."""
    if engine_kind(url) == "sqlite":
        path = sqlite_path(url)
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(source, path)
        os.chmod(path, 0o600)
        return
    dsn, env = _libpq(url)
    listing = _run([_tool("pg_restore"), "--list", str(source)], env, "pg_restore --list")
    # The schema itself exists already (an empty one, or public); restore only what is inside it.
    wanted = [line for line in listing.splitlines() if " SCHEMA - " not in line]
    list_file = source.with_suffix(".list")
    list_file.write_text("\n".join(wanted) + "\n")
    _run([_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error", "--single-transaction",
          f"--use-list={list_file}", f"--dbname={dsn}", str(source)], env, "pg_restore")

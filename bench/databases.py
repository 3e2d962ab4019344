"""The database a benchmark runs on: SQLite in its data dir, or a fresh PostgreSQL database.

A PostgreSQL URL names the server (and a database to connect to for administration, e.g.
`postgresql+psycopg://postgres@127.0.0.1:5432/postgres`); each run creates its own database
beside it, named `satellite_bench_<random>`, and drops it at the end.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url


@contextmanager
def fresh_database(url: str) -> Iterator[str]:
    """Yield "" for SQLite (the data dir's own file) or the URL of a new, empty PG database."""
    if not url or url.startswith("sqlite"):
        yield ""
        return
    name = f"satellite_bench_{secrets.token_hex(4)}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield make_url(url).set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


def engine_name(url: str) -> str:
    return "PostgreSQL" if url.startswith("postgresql") else "SQLite"

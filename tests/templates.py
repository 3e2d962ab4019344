"""An initialised appliance made once per test process and copied for every test that needs one.

Migrating and initialising (Alembic's chain, the first admin's password hash, the keys) costs
far more than copying the result. The first `db` fixture of a process builds a template data
dir and database per engine; every later one copies them: a file copy on SQLite, a replay of
the template schema's dump into the test's own schema on PostgreSQL. Each test still gets a
database of its own, so isolation is unchanged.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import create_engine, make_url, text

from satellite.actor import Actor
from satellite.bootstrap import initialise, open_database
from satellite.clock import FixedClock
from satellite.config import Settings, load_settings

ADMIN_PASSWORD = "correct horse battery staple"


@dataclass
class Template:
    data_dir: Path
    sqlite_file: Path | None = None
    pg_script: str | None = None
    pg_schema: str | None = None


def build(root: Path, database_url: str, schema: str | None, clock: FixedClock, actor: Actor) -> Template:
    """Initialise an appliance under `root` on `database_url` and keep it as a template."""
    settings = load_settings(data_dir=root / "data", env={}, overrides={"database_url": database_url})
    database = open_database(settings, clock)
    try:
        initialise(settings, database, actor, admin_password=ADMIN_PASSWORD)
    finally:
        database.dispose()
    template = Template(data_dir=settings.data_dir)
    if schema is None:
        path = Path(make_url(database_url).database or "")
        _checkpoint(database_url)
        template.sqlite_file = path
    else:
        template.pg_script = _pg_script(database_url, schema)
        template.pg_schema = schema
    return template


def _checkpoint(url: str) -> None:
    """Fold the WAL into the main file, so the one file is the whole database."""
    engine = create_engine(url)
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()


def _pg_script(url: str, schema: str) -> str:
    """The template schema as SQL: tables, indexes, constraints and rows (as INSERTs)."""
    plain = make_url(url).set(drivername="postgresql", query={})
    env = dict(os.environ)
    if plain.password:
        env["PGPASSWORD"] = str(plain.password)
    dump = subprocess.run(
        ["pg_dump", "--no-owner", "--no-privileges", "--inserts", f"--schema={schema}",
         f"--dbname={plain.set(password=None).render_as_string(hide_password=False)}"],
        env=env, capture_output=True, text=True, check=True).stdout
    # psql's meta-commands (\restrict in newer pg_dump) are not SQL.
    return "\n".join(line for line in dump.splitlines() if not line.startswith("\\"))


def copy_into(template: Template, settings: Settings, admin_url: str | None, schema: str | None) -> None:
    """Give the test's data dir and database the template's contents."""
    shutil.copytree(template.data_dir, settings.data_dir, dirs_exist_ok=True)
    if template.sqlite_file is not None:
        target = Path(make_url(settings.database_url).database or "")
        shutil.copyfile(template.sqlite_file, target)
        return
    assert template.pg_script is not None and template.pg_schema is not None
    assert admin_url is not None and schema is not None
    script = re.sub(rf"\b{re.escape(template.pg_schema)}\b", schema, template.pg_script)
    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            # The driver's own connection: the script is SQL text, not a statement with parameters.
            conn.connection.driver_connection.execute(script)  # type: ignore[union-attr]
    finally:
        engine.dispose()

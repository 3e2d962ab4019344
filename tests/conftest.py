"""Shared fixtures: a fixed clock, a database on every configured engine, and the CLI in-process."""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from satellite.actor import Actor
from satellite.bootstrap import open_database
from satellite.clock import FixedClock
from satellite.config import Settings, load_settings
from satellite.licenses.pools import drifted_pools, drifted_tags
from satellite.uow import Database
from tests import templates

PG_URL = os.environ.get("SATELLITE_TEST_DATABASE_URL", "")
_schemas = itertools.count()

ENGINES = ["sqlite", pytest.param("postgresql", marks=pytest.mark.skipif(
    not PG_URL, reason="SATELLITE_TEST_DATABASE_URL is not set"))]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sqlite_only: a test that runs on SQLite only")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """A test marked sqlite_only keeps its SQLite variant only (no skipped PostgreSQL twin)."""
    kept, dropped = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        on_pg = callspec is not None and callspec.params.get("database_url") == "postgresql"
        (dropped if on_pg and item.get_closest_marker("sqlite_only") else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 3, 1, 12, 0, tzinfo=UTC))


@pytest.fixture
def actor() -> Actor:
    return Actor("cli", "tester")


@dataclass
class PgSchema:
    url: str
    name: str


@pytest.fixture
def pg_schema() -> Iterator[PgSchema]:
    """A fresh PostgreSQL schema, dropped afterwards, so runs can repeat and overlap."""
    if not PG_URL:
        pytest.skip("SATELLITE_TEST_DATABASE_URL is not set")
    name = f"sat_test_{os.getpid()}_{next(_schemas)}"
    admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        conn.execute(text(f'CREATE SCHEMA "{name}"'))
    sep = "&" if "?" in PG_URL else "?"
    try:
        yield PgSchema(f"{PG_URL}{sep}options=-csearch_path%3D{name}", name)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=ENGINES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'satellite.db'}"
    schema: PgSchema = request.getfixturevalue("pg_schema")
    return schema.url


_templates: dict[tuple[str, datetime, Actor], templates.Template] = {}


@pytest.fixture(scope="session")
def template_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """Where this test process keeps its templates; a PostgreSQL template schema goes with it."""
    yield tmp_path_factory.mktemp("templates")
    if PG_URL and any(t.pg_schema for t in _templates.values()):
        admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            for template in _templates.values():
                if template.pg_schema:
                    conn.execute(text(f'DROP SCHEMA IF EXISTS "{template.pg_schema}" CASCADE'))
        admin.dispose()
    _templates.clear()


def _template(root: Path, engine: str, clock: FixedClock, actor: Actor) -> templates.Template:
    key = (engine, clock.now(), actor)
    if key not in _templates:
        place = root / f"t{len(_templates)}"
        if engine == "sqlite":
            url = f"sqlite:///{place / 'satellite.db'}"
            _templates[key] = templates.build(place, url, None, clock, actor)
        else:
            name = f"sat_template_{os.getpid()}_{len(_templates)}"
            admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
                conn.execute(text(f'CREATE SCHEMA "{name}"'))
            admin.dispose()
            sep = "&" if "?" in PG_URL else "?"
            url = f"{PG_URL}{sep}options=-csearch_path%3D{name}"
            _templates[key] = templates.build(place, url, name, clock, actor)
    return _templates[key]


@pytest.fixture
def settings(tmp_path: Path, database_url: str) -> Settings:
    return load_settings(data_dir=tmp_path / "data", env={},
                         overrides={"database_url": database_url})


@pytest.fixture
def db(request: pytest.FixtureRequest, settings: Settings, clock: FixedClock, actor: Actor,
       template_root: Path) -> Iterator[Database]:
    """An initialised appliance database (migrated, with its first admin) on each engine.

    A copy of this process's template (tests/templates.py): the same as `satellite init` with
    the admin password below, without paying for the migrations and the keys every time.
    """
    engine = "sqlite" if settings.database_url.startswith("sqlite") else "postgresql"
    schema = request.getfixturevalue("pg_schema").name if engine == "postgresql" else None
    templates.copy_into(_template(template_root, engine, clock, actor), settings, PG_URL or None, schema)
    database = open_database(settings, clock)
    yield database
    # Whatever a test wrote, every pool's stored quantity must still agree with its lines: a
    # writer that skipped the refresh fails the test that exercised it.
    with database.reader() as uow:
        drifted, tags = drifted_pools(uow.session), drifted_tags(uow.session)
    database.dispose()
    assert not drifted, f"stored pool quantities disagree with their lines: {drifted[:5]}"
    assert not tags, f"stored search words disagree with the lines of {tags[:5]}"


@dataclass
class CliResult:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(settings: Settings, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch):
    """Run `satellite ...` in-process against the test's data dir and database."""
    from satellite.cli import main

    monkeypatch.setenv("SATELLITE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("SATELLITE_DATABASE_URL", settings.database_url)
    monkeypatch.delenv("SATELLITE_CONFIG", raising=False)

    def run(*args: str) -> CliResult:
        capsys.readouterr()
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = int(exc.code or 0)
        out, err = capsys.readouterr()
        return CliResult(code, out, err)

    return run

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select, text

import satellite.models
from satellite.accounts import service
from satellite.accounts.models import Account
from satellite.actor import Actor
from satellite.bootstrap import database, initialise
from satellite.config import Settings
from satellite.db import alembic_config, head_revisions, make_engine, migrate, schema_revision
from satellite.uow import Database


def test_migrations_build_exactly_the_models(db: Database) -> None:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, satellite.models.Base.metadata)
    assert diff == []
    assert schema_revision(db.engine) == head_revisions()


def test_upgrade_from_the_first_revision_keeps_data(settings: Settings) -> None:
    """An appliance installed at the first schema is upgraded in place by `satellite init`."""
    from alembic import command

    engine = make_engine(settings.effective_database_url)
    try:
        command.upgrade(alembic_config(engine), "0001")
        with engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO accounts (id, name, domain, reservation_mode, created_at) "
                "VALUES (1, 'Acme', 'acme.example.com', 'none', '2025-01-01 00:00:00')"))
            conn.execute(text(
                "INSERT INTO virtual_accounts (id, account_id, name, description, depth, is_default,"
                " created_at) VALUES (1, 1, 'Default', '', 1, true, '2025-01-01 00:00:00')"))
        assert schema_revision(engine) == ("0001",)
        db = database(engine)
        initialise(settings, db, Actor.system())
        assert schema_revision(engine) == head_revisions()
        with db.reader() as uow:
            account = uow.session.scalars(select(Account)).one()
            assert (account.name, account.domain) == ("Acme", "acme.example.com")
            assert [va.name for va in service.list_vas(uow.session, Actor.system(), "Acme")[1]] == ["Default"]
    finally:
        engine.dispose()


def test_a_database_of_a_build_with_parallel_branches_upgrades(settings: Settings) -> None:
    """Builds whose migrations 0003 and 0004 both followed 0001 recorded both as heads; since
    the line runs 0003 -> 0004, Alembic alone refuses that pair as overlapping."""
    from alembic import command

    engine = make_engine(settings.effective_database_url)
    try:
        command.upgrade(alembic_config(engine), "0004")
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO alembic_version (version_num) VALUES ('0003')"))
        assert schema_revision(engine) == ("0003", "0004")
        migrate(engine)
        assert schema_revision(engine) == head_revisions()
    finally:
        engine.dispose()

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select

import satellite.models
from satellite.accounts import service
from satellite.accounts.models import Account
from satellite.actor import Actor
from satellite.bootstrap import initialise
from satellite.config import Settings
from satellite.db import head_revisions, migrate, schema_revision
from satellite.uow import Database


def test_migrations_build_exactly_the_models(db: Database) -> None:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, satellite.models.Base.metadata)
    assert diff == []
    assert schema_revision(db.engine) == head_revisions()


def test_upgrade_in_place_keeps_data(db: Database, settings: Settings, actor: Actor) -> None:
    with db.uow() as uow:
        service.create_account(uow, actor, "Acme", "acme.example.com")
        uow.commit()
    migrate(db.engine)
    initialise(settings, db, Actor.system())
    with db.reader() as uow:
        assert [a.name for a in uow.session.scalars(select(Account))] == ["Acme"]

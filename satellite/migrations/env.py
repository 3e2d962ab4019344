"""Alembic environment: the engine is handed in by satellite.db.migrate (or built from settings)."""

from __future__ import annotations

from alembic import context

import satellite.models
from satellite.config import load_settings
from satellite.db import make_engine

config = context.config
target_metadata = satellite.models.Base.metadata


def run_migrations_online() -> None:
    engine = config.attributes.get("engine")
    if engine is None:
        engine = make_engine(load_settings().effective_database_url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations_online()

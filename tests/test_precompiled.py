"""Statements run on the driver (satellite.precompiled) against SQLAlchemy's own execution."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import (
    Boolean,
    Column,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    bindparam,
    cast,
    insert,
    literal,
    select,
)
from sqlalchemy.exc import IntegrityError

from satellite import precompiled
from satellite.db import UTCDateTime, bind_list, list_params
from satellite.uow import Database
from tests.statements import counting

METADATA = MetaData()
THINGS = Table(
    "precompiled_things", METADATA,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("name", String(40), nullable=False),
    Column("flag", Boolean, nullable=False),
    Column("blob", LargeBinary, nullable=False),
    Column("seen_at", UTCDateTime(), nullable=True),
)
INSERT = insert(THINGS).values(id=bindparam("id"), name=bindparam("name"),
                               flag=bindparam("flag"), blob=bindparam("blob"),
                               seen_at=bindparam("seen_at", type_=UTCDateTime()))
# A literal bound by the statement itself, beside values bound by the caller.
SELECT = (select(THINGS.c.id, THINGS.c.flag, THINGS.c.blob, THINGS.c.seen_at,
                 (literal("thing:") + cast(THINGS.c.id, String)).label("owner"))
          .where(THINGS.c.id.in_(bind_list("id", 2))).order_by(THINGS.c.id))
SEEN = datetime(2026, 12, 7, 12, 30, 15, 123456, tzinfo=UTC)


@pytest.fixture
def things(db: Database) -> Iterator[Database]:
    METADATA.create_all(db.engine)
    yield db
    METADATA.drop_all(db.engine)


def _add(db: Database, *rows: dict[str, object]) -> None:
    with db.uow() as uow:
        for row in rows:
            precompiled.run(uow.session.connection(), INSERT, row)
        uow.commit()


def test_rows_come_back_as_sqlalchemy_gives_them(things: Database) -> None:
    _add(things, {"id": 1, "name": "one", "flag": True, "blob": b"\x00\xff", "seen_at": SEEN},
         {"id": 2, "name": "two", "flag": False, "blob": b"", "seen_at": None})
    with things.reader() as uow:
        connection = uow.session.connection()
        ours = precompiled.run(connection, SELECT, list_params("id", [1, 2]))
        theirs = connection.execute(SELECT, list_params("id", [1, 2])).all()
    assert [tuple(row) for row in ours] == [tuple(row) for row in theirs]
    assert ours[0].seen_at == SEEN and ours[0].seen_at.tzinfo is not None
    assert (ours[0].flag, ours[0].blob, ours[0].owner) == (True, b"\x00\xff", "thing:1")
    assert ours[1].seen_at is None


def test_a_run_belongs_to_the_session_s_transaction(things: Database) -> None:
    with things.uow() as uow:
        precompiled.run(uow.session.connection(), INSERT,
                        {"id": 3, "name": "x", "flag": True, "blob": b"x", "seen_at": SEEN})
        # Not committed: the unit of work rolls it back.
    with things.reader() as uow:
        assert uow.session.execute(select(THINGS.c.id)).all() == []


def test_statement_listeners_see_each_run(things: Database) -> None:
    with counting(things.engine) as statements, things.reader() as uow:
        precompiled.run(uow.session.connection(), SELECT, list_params("id", [1, 2]))
    assert [s for s in statements if "precompiled_things" in s] == [
        precompiled._precompiled(SELECT, things.engine.dialect).sql]


def test_a_driver_error_is_sqlalchemy_s_own(things: Database) -> None:
    row = {"id": 4, "name": "x", "flag": True, "blob": b"x", "seen_at": SEEN}
    _add(things, row)
    with things.uow() as uow, pytest.raises(IntegrityError):
        precompiled.run(uow.session.connection(), INSERT, row)


def test_a_column_default_computed_in_python_is_refused(things: Database) -> None:
    table = Table("precompiled_defaults", MetaData(),
                  Column("id", Integer, primary_key=True), Column("name", String(8), default="x"))
    with things.reader() as uow, pytest.raises(ValueError, match="default"):
        precompiled.run(uow.session.connection(), insert(table).values(id=bindparam("id")),
                        {"id": 1})


def test_an_expanding_parameter_is_refused(things: Database) -> None:
    query = select(THINGS.c.id).where(THINGS.c.id.in_(bindparam("ids", expanding=True)))
    with things.reader() as uow, pytest.raises(ValueError, match="expanding"):
        precompiled.run(uow.session.connection(), query, {"ids": [1]})

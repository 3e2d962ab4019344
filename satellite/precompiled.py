"""Statements of the check-in's hot path, compiled once and run on the driver's connection.

A check-in batch runs the same few statements thousands of times a second, and SQLAlchemy's
work around each execution (its execution context, the bound parameters processed one by one,
a result object, each row processed) costs more than SQLite's own: measured in the serving
process, the batch's statements cost 70 µs less per check-in run this way (docs/devices.md,
"Statements run on the driver"). So the hot statements are still built with SQLAlchemy Core,
and compiled by it for the connection's dialect, once; each run then only converts the values
with the same type processors SQLAlchemy would use, and hands the SQL to the driver (sqlite3
or psycopg) on the connection, in the session's own transaction.

What stays the same: `before_cursor_execute` listeners see each statement (the statement-count
tests count these), and a driver error is raised as SQLAlchemy's own exception class
(IntegrityError, OperationalError ...). Not for general use: a statement with expanding
(`IN` of a list) or default-generated parameters is refused.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Mapping
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

Processor = Callable[[Any], Any]


class Precompiled:
    """One statement compiled for one dialect, with its parameters' and columns' processors."""

    def __init__(self, statement: ClauseElement, dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        assert isinstance(compiled, SQLCompiler)
        if any(bind.expanding for bind in compiled.binds.values()):
            raise ValueError("an expanding parameter is rendered anew on every execution")
        if compiled.insert_prefetch or compiled.update_prefetch:
            raise ValueError("a column default computed in Python is computed on execution")
        self.sql = compiled.string
        self.names = list(compiled.positiontup or ()) if compiled.positional else None
        # Values fixed in the statement itself (literals SQLAlchemy binds, such as 'device:').
        self.fixed = {name: bind.value for name, bind in compiled.binds.items()
                      if bind.value is not None}
        self.binds: dict[str, Processor] = {}
        for name, bind in compiled.binds.items():
            process = bind.type.dialect_impl(dialect).bind_processor(dialect)
            if process is not None:
                self.binds[name] = process
        columns = list(getattr(statement, "exported_columns", ()))
        self.results: list[Processor | None] = [
            column.type.dialect_impl(dialect).result_processor(dialect, None)
            for column in columns]
        self.converts = any(process is not None for process in self.results)
        self.row: Any = namedtuple("Row", [column.key for column in columns],  # type: ignore[misc]
                                   rename=True)

    def parameters(self, values: Mapping[str, Any]) -> Any:
        """The driver's parameters: a list in SQL order, or a mapping for named styles."""
        merged = {**self.fixed, **values}
        for name, process in self.binds.items():
            value = merged.get(name)
            if value is not None:
                merged[name] = process(value)
        if self.names is None:
            return merged
        return [merged[name] for name in self.names]

    def rows(self, raw: list[Any]) -> list[Any]:
        make = self.row._make
        if not self.converts:
            return [make(row) for row in raw]
        results = self.results
        return [make([value if process is None or value is None else process(value)
                      for process, value in zip(results, row, strict=True)]) for row in raw]


@lru_cache(maxsize=1024)
def _precompiled(statement: ClauseElement, dialect: Dialect) -> Precompiled:
    return Precompiled(statement, dialect)


def run(connection: Connection, statement: ClauseElement,
        values: Mapping[str, Any]) -> list[Any]:
    """Run `statement` (built once and kept, so that it compiles once) with `values` in the
    connection's transaction; its rows, as named tuples of converted values (none for DML
    without RETURNING)."""
    compiled = _precompiled(statement, connection.dialect)
    parameters = compiled.parameters(values)
    driver = connection.connection.driver_connection
    cursor = driver.cursor()  # type: ignore[union-attr]
    for listener in connection.dispatch.before_cursor_execute:
        listener(connection, cursor, compiled.sql, parameters, None, False)
    try:
        cursor.execute(compiled.sql, parameters)
        raw = cursor.fetchall() if cursor.description is not None else []
    except connection.dialect.loaded_dbapi.Error as exc:
        raise DBAPIError.instance(compiled.sql, parameters, exc,
                                  connection.dialect.loaded_dbapi.Error) from exc
    finally:
        cursor.close()
    return compiled.rows(raw)

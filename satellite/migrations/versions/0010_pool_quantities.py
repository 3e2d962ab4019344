"""pool rows store their lines' quantity, tags their search words; lines by VA and end date

Revision ID: 0010_pool_quantities
Revises: 0009_job_runs
"""

from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql, sqlite

revision: str = '0010_pool_quantities'
down_revision: str | Sequence[str] | None = '0009_job_runs'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 2000
_COLUMNS = ('quantity', 'lines', 'export_controlled', 'quantity_from', 'quantity_until')

# The tables as this revision knows them (not the models, which move on).
_lines = sa.table('license_lines', sa.column('va_id', sa.Integer), sa.column('tag', sa.String),
                  sa.column('license_type', sa.String), sa.column('quantity', sa.Integer),
                  sa.column('start_date', sa.Date), sa.column('end_date', sa.Date),
                  sa.column('export_controlled', sa.Boolean),
                  sa.column('display_name', sa.String), sa.column('search_tags', sa.Text))
_tags = sa.table('license_tag_search', sa.column('tag', sa.String), sa.column('words', sa.Text))
_pools = sa.table('license_usage_totals', sa.column('va_id', sa.Integer),
                  sa.column('tag', sa.String), sa.column('in_use', sa.Integer),
                  sa.column('reserved', sa.Integer), sa.column('quantity', sa.Integer),
                  sa.column('lines', sa.Integer), sa.column('export_controlled', sa.Boolean),
                  sa.column('quantity_from', sa.Date), sa.column('quantity_until', sa.Date))


# This revision's own copy of the pool rules it backfills with (a migration never changes
# because live code does): a line counts on a day if PERPETUAL or within its dates; a pool's
# window is the widest span around that day in which no dated line starts or ends.
_SEARCH_SEPARATOR = '\x1f'
_Line = tuple[str, int, date | None, date | None, bool]


def _active(license_type: str, start: date | None, end: date | None, on: date) -> bool:
    return license_type == 'PERPETUAL' or (
        (start is None or start <= on) and (end is None or end >= on))


def _summarize(lines: Iterable[_Line], on: date) -> dict[str, Any]:
    quantity = count = 0
    export = False
    since: date | None = None
    until: date | None = None
    for license_type, line_quantity, start, end, export_controlled in lines:
        count += 1
        export = export or export_controlled
        if _active(license_type, start, end, on):
            quantity += line_quantity
        if license_type == 'PERPETUAL':
            continue
        for change in (start, None if end is None or end == date.max else end + timedelta(1)):
            if change is None:
                continue
            if change <= on:
                since = change if since is None or change > since else since
            elif until is None or change < until:
                until = change
    return {'quantity': quantity, 'lines': count, 'export_controlled': export,
            'quantity_from': since, 'quantity_until': until}


def _grouped(rows: Iterable[Any]) -> Iterator[tuple[tuple[int, str], list[_Line]]]:
    key: tuple[int, str] | None = None
    lines: list[_Line] = []
    for va_id, tag, license_type, quantity, start, end, export in rows:
        if (va_id, tag) != key:
            if key is not None:
                yield key, lines
            key, lines = (va_id, tag), []
        lines.append((license_type, quantity, start, end, bool(export)))
    if key is not None:
        yield key, lines


def _tag_words(texts: Iterable[tuple[str, str]]) -> str:
    return _SEARCH_SEPARATOR.join(_SEARCH_SEPARATOR.join(pair) for pair in sorted(set(texts)))


def upgrade() -> None:
    # On SQLite the table is rebuilt in key order (WITHOUT ROWID); PostgreSQL adds columns.
    sqlite_options: dict[str, Any] = (
        {'recreate': 'always', 'table_kwargs': {'sqlite_with_rowid': False}}
        if op.get_bind().dialect.name == 'sqlite' else {})
    with op.batch_alter_table('license_usage_totals', schema=None,
                              **sqlite_options) as batch_op:
        batch_op.add_column(sa.Column('quantity', sa.Integer(), server_default='0',
                                      nullable=False))
        batch_op.add_column(sa.Column('lines', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('export_controlled', sa.Boolean(),
                                      server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('quantity_from', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('quantity_until', sa.Date(), nullable=True))
    op.create_table('license_tag_search',
    sa.Column('tag', sa.String(length=255), nullable=False),
    sa.Column('words', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('tag', name=op.f('pk_license_tag_search'))
    )
    with op.batch_alter_table('license_lines', schema=None) as batch_op:
        batch_op.create_index('ix_license_lines_va_end', ['va_id', 'end_date'], unique=False)
    _backfill(op.get_bind(), datetime.now(UTC).date())


def _backfill(connection: sa.Connection, on: date) -> None:
    """One ordered scan of the lines, written back in batches of upserts."""
    insert: Any = postgresql.insert if connection.dialect.name == 'postgresql' else sqlite.insert
    rows = connection.execute(
        sa.select(_lines.c.va_id, _lines.c.tag, _lines.c.license_type, _lines.c.quantity,
                  _lines.c.start_date, _lines.c.end_date, _lines.c.export_controlled)
        .order_by(_lines.c.va_id, _lines.c.tag)).all()
    batch: list[dict[str, Any]] = []
    for (va_id, tag), lines in _grouped(rows):
        batch.append({'va_id': va_id, 'tag': tag, 'in_use': 0, 'reserved': 0,
                      **_summarize(lines, on)})
        if len(batch) >= _BATCH:
            _write(connection, insert, batch)
            batch = []
    _write(connection, insert, batch)
    texts: dict[str, list[tuple[str, str]]] = {}
    for tag, name, words in connection.execute(
            sa.select(_lines.c.tag, _lines.c.display_name, _lines.c.search_tags).distinct()):
        texts.setdefault(tag, []).append((name, words))
    if texts:
        connection.execute(sa.insert(_tags), [{'tag': tag, 'words': _tag_words(pairs)}
                                              for tag, pairs in sorted(texts.items())])


def _write(connection: sa.Connection, insert: Any, batch: list[dict[str, Any]]) -> None:
    if batch:
        stmt = insert(_pools)
        connection.execute(stmt.on_conflict_do_update(
            index_elements=['va_id', 'tag'],
            set_={name: getattr(stmt.excluded, name) for name in _COLUMNS}), batch)


def downgrade() -> None:
    sqlite_options: dict[str, Any] = (
        {'recreate': 'always', 'table_kwargs': {'sqlite_with_rowid': True}}
        if op.get_bind().dialect.name == 'sqlite' else {})
    with op.batch_alter_table('license_lines', schema=None) as batch_op:
        batch_op.drop_index('ix_license_lines_va_end')
    op.drop_table('license_tag_search')
    with op.batch_alter_table('license_usage_totals', schema=None,
                              **sqlite_options) as batch_op:
        for name in reversed(_COLUMNS):
            batch_op.drop_column(name)

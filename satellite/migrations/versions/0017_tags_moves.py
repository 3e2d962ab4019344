"""Operators' tags on license pools, product instances and reservations, one indexed row each;
the lines' free-text search words become their pools' tags

Revision ID: 0017_tags_moves
Revises: 0016_classic_licenses
"""

import re
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0017_tags_moves'
down_revision: str | Sequence[str] | None = '0016_classic_licenses'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


_SEPARATOR = '\x1f'
_WORD = re.compile(r'[a-z0-9][a-z0-9._:/+-]{0,63}')
_MOST = 20
_lines = sa.table('license_lines', sa.column('va_id', sa.Integer), sa.column('tag', sa.String),
                  sa.column('display_name', sa.String), sa.column('search_tags', sa.Text))
_labels = sa.table('license_labels', sa.column('va_id', sa.Integer),
                   sa.column('tag', sa.String), sa.column('label', sa.String))
_search = sa.table('license_tag_search', sa.column('tag', sa.String),
                   sa.column('words', sa.Text))


def _words(text: str) -> list[str]:
    """The search words a line carried that are tags (lower case, safe characters)."""
    return [w for w in text.lower().replace(',', ' ').split() if _WORD.fullmatch(w)]


def _move_search_words(connection: sa.Connection) -> None:
    pools: dict[tuple[int, str], list[str]] = {}
    for va_id, tag, text in connection.execute(
            sa.select(_lines.c.va_id, _lines.c.tag, _lines.c.search_tags)
            .where(_lines.c.search_tags != '').distinct()):
        found = pools.setdefault((va_id, tag), [])
        found.extend(w for w in _words(text) if w not in found)
    rows = [{'va_id': va_id, 'tag': tag, 'label': word}
            for (va_id, tag), words in sorted(pools.items()) for word in words[:_MOST]]
    if rows:
        connection.execute(sa.insert(_labels), rows)


def _rewrite_tag_search(connection: sa.Connection, with_words: bool) -> None:
    """Each tag's stored text: its lines' display names (and their search words, before)."""
    columns = [_lines.c.tag, _lines.c.display_name] + (
        [_lines.c.search_tags] if with_words else [])
    texts: dict[str, set[str]] = {}
    for row in connection.execute(sa.select(*columns).distinct()):
        texts.setdefault(row[0], set()).add(_SEPARATOR.join(row[1:]))
    connection.execute(sa.delete(_search))
    if texts:
        connection.execute(sa.insert(_search), [
            {'tag': tag, 'words': _SEPARATOR.join(sorted(names))}
            for tag, names in sorted(texts.items())])


def upgrade() -> None:
    op.create_table(
        'license_labels',
        sa.Column('va_id', sa.Integer(),
                  sa.ForeignKey('virtual_accounts.id', ondelete='CASCADE'), primary_key=True),
        sa.Column('tag', sa.String(255), primary_key=True),
        sa.Column('label', sa.String(64), primary_key=True),
    )
    op.create_index('ix_license_labels_label', 'license_labels', ['label', 'va_id', 'tag'])
    op.create_table(
        'device_labels',
        sa.Column('device_id', sa.Integer(), sa.ForeignKey('devices.id', ondelete='CASCADE'),
                  primary_key=True),
        sa.Column('label', sa.String(64), primary_key=True),
    )
    op.create_index('ix_device_labels_label', 'device_labels', ['label', 'device_id'])
    op.create_table(
        'reservation_labels',
        sa.Column('reservation_id', sa.Integer(),
                  sa.ForeignKey('reservations.id', ondelete='CASCADE'), primary_key=True),
        sa.Column('label', sa.String(64), primary_key=True),
    )
    op.create_index('ix_reservation_labels_label', 'reservation_labels',
                    ['label', 'reservation_id'])
    connection = op.get_bind()
    _move_search_words(connection)
    with op.batch_alter_table('license_lines') as batch:
        batch.drop_column('search_tags')
    _rewrite_tag_search(connection, with_words=False)


def downgrade() -> None:
    with op.batch_alter_table('license_lines') as batch:
        batch.add_column(sa.Column('search_tags', sa.Text(), nullable=False, server_default=''))
    _rewrite_tag_search(op.get_bind(), with_words=True)
    for table in ('reservation_labels', 'device_labels', 'license_labels'):
        op.drop_index(f'ix_{table}_label', table)
        op.drop_table(table)

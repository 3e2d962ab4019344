"""Operators' tags on license pools, product instances and reservations, one indexed row each

Revision ID: 0017_tags_moves
Revises: 0012_slup
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0017_tags_moves'
down_revision: str | Sequence[str] | None = '0012_slup'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


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


def downgrade() -> None:
    for table in ('reservation_labels', 'device_labels', 'license_labels'):
        op.drop_index(f'ix_{table}_label', table)
        op.drop_table(table)

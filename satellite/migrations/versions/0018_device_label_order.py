"""A device's tags carry its account and UDI, so a list filtered by a tag reads the tag's
index in the list's own order (account, then UDI) instead of walking every device

Revision ID: 0018_device_label_order
Revises: 0017_tags_moves
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0018_device_label_order'
down_revision: str | Sequence[str] | None = '0017_tags_moves'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


_devices = sa.table('devices', sa.column('id', sa.Integer), sa.column('account_id', sa.Integer),
                    sa.column('pid', sa.String), sa.column('serial', sa.String))
_labels = sa.table('device_labels', sa.column('device_id', sa.Integer),
                   sa.column('account_id', sa.Integer), sa.column('pid', sa.String),
                   sa.column('serial', sa.String))


def _of_device(column: str) -> sa.ScalarSelect[object]:
    return (sa.select(_devices.c[column]).where(_devices.c.id == _labels.c.device_id)
            .scalar_subquery())


def upgrade() -> None:
    with op.batch_alter_table('device_labels') as batch:
        batch.add_column(sa.Column('account_id', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('pid', sa.String(100), nullable=True))
        batch.add_column(sa.Column('serial', sa.String(100), nullable=True))
    op.execute(sa.update(_labels).values(account_id=_of_device('account_id'),
                                         pid=_of_device('pid'), serial=_of_device('serial')))
    with op.batch_alter_table('device_labels') as batch:
        batch.alter_column('account_id', existing_type=sa.Integer(), nullable=False)
        batch.alter_column('pid', existing_type=sa.String(100), nullable=False)
        batch.alter_column('serial', existing_type=sa.String(100), nullable=False)
        batch.drop_index('ix_device_labels_label')
        batch.create_index('ix_device_labels_account_udi',
                           ['label', 'account_id', 'pid', 'serial', 'device_id'])


def downgrade() -> None:
    with op.batch_alter_table('device_labels') as batch:
        batch.drop_index('ix_device_labels_account_udi')
        batch.create_index('ix_device_labels_label', ['label', 'device_id'])
        batch.drop_column('serial')
        batch.drop_column('pid')
        batch.drop_column('account_id')

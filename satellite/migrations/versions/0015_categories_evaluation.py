"""Export-control categories of accounts; the evaluation period of devices

Revision ID: 0015_categories_evaluation
Revises: 0014_deposit_rules
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from satellite.db import UTCDateTime

revision: str = '0015_categories_evaluation'
down_revision: str | Sequence[str] | None = '0014_deposit_rules'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('accounts') as batch:
        batch.add_column(sa.Column('export_category', sa.String(1), nullable=False,
                                   server_default='A'))
    with op.batch_alter_table('devices') as batch:
        batch.add_column(sa.Column('evaluation_started_at', UTCDateTime(timezone=True),
                                   nullable=True))
        batch.add_column(sa.Column('in_evaluation', sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
    op.create_index('ix_devices_account_evaluation_udi', 'devices',
                    ['account_id', 'in_evaluation', 'pid', 'serial'])


def downgrade() -> None:
    op.drop_index('ix_devices_account_evaluation_udi', table_name='devices')
    with op.batch_alter_table('devices') as batch:
        batch.drop_column('in_evaluation')
        batch.drop_column('evaluation_started_at')
    with op.batch_alter_table('accounts') as batch:
        batch.drop_column('export_category')

"""Account activation: Pending accounts, who created and approved them, held entitlement lines

Revision ID: 0013_account_activation
Revises: 0012_slup
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from satellite.db import UTCDateTime

revision: str = '0013_account_activation'
down_revision: str | Sequence[str] | None = '0012_slup'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('accounts') as batch:
        batch.add_column(sa.Column('status', sa.String(16), nullable=False,
                                   server_default='ACTIVE'))
        batch.add_column(sa.Column('created_by', sa.String(200), nullable=False,
                                   server_default=''))
        batch.add_column(sa.Column('approved_by', sa.String(200), nullable=True))
        batch.add_column(sa.Column('activated_at', UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table('account_requests') as batch:
        batch.add_column(sa.Column('account_id', sa.Integer(), nullable=True))
        batch.create_foreign_key('fk_account_requests_account_id_accounts', 'accounts', ['account_id'],
                                 ['id'], ondelete='SET NULL')
        batch.create_index('ix_account_requests_account_id', ['account_id'])
    op.create_table(
        'held_lines',
        sa.Column('line_id', sa.String(64), primary_key=True),
        sa.Column('domain', sa.String(253), nullable=False),
        sa.Column('va', sa.String(200), nullable=True),
        sa.Column('tag', sa.String(255), nullable=False),
        sa.Column('display_name', sa.String(255), nullable=False),
        sa.Column('license_type', sa.String(16), nullable=False),
        sa.Column('quantity', sa.Integer(), nullable=False),
        sa.Column('start_date', sa.Date(), nullable=True),
        sa.Column('end_date', sa.Date(), nullable=True),
        sa.Column('subscription_id', sa.String(100), nullable=False),
        sa.Column('export_controlled', sa.Boolean(), nullable=False),
        sa.Column('held_at', UTCDateTime(timezone=True), nullable=False),
    )
    op.create_index('ix_held_lines_domain', 'held_lines', ['domain'])


def downgrade() -> None:
    op.drop_index('ix_held_lines_domain', table_name='held_lines')
    op.drop_table('held_lines')
    with op.batch_alter_table('account_requests') as batch:
        batch.drop_index('ix_account_requests_account_id')
        batch.drop_constraint('fk_account_requests_account_id_accounts', type_='foreignkey')
        batch.drop_column('account_id')
    with op.batch_alter_table('accounts') as batch:
        batch.drop_column('activated_at')
        batch.drop_column('approved_by')
        batch.drop_column('created_by')
        batch.drop_column('status')

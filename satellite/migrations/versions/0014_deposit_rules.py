"""Holding account lines, deposit rules per account, where unnamed lines were first placed

Revision ID: 0014_deposit_rules
Revises: 0013_account_activation
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from satellite.db import UTCDateTime

revision: str = '0014_deposit_rules'
down_revision: str | Sequence[str] | None = '0013_account_activation'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'holding_lines',
        sa.Column('line_id', sa.String(64), primary_key=True),
        sa.Column('holding', sa.String(253), nullable=False),
        sa.Column('account', sa.String(253), nullable=False),
        sa.Column('tag', sa.String(255), nullable=False),
        sa.Column('display_name', sa.String(255), nullable=False),
        sa.Column('license_type', sa.String(16), nullable=False),
        sa.Column('quantity', sa.Integer(), nullable=False),
        sa.Column('start_date', sa.Date(), nullable=True),
        sa.Column('end_date', sa.Date(), nullable=True),
        sa.Column('subscription_id', sa.String(100), nullable=False),
        sa.Column('export_controlled', sa.Boolean(), nullable=False),
        sa.Column('received_at', UTCDateTime(timezone=True), nullable=False),
    )
    op.create_table(
        'deposit_rules',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('account_id', sa.Integer(), sa.ForeignKey('accounts.id'), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('match', sa.String(8), nullable=False),
        sa.Column('pattern', sa.String(255), nullable=False),
        sa.Column('va_id', sa.Integer(), sa.ForeignKey('virtual_accounts.id'), nullable=False),
        sa.Column('created_at', UTCDateTime(timezone=True), nullable=False),
    )
    op.create_index('ix_deposit_rules_account_position', 'deposit_rules',
                    ['account_id', 'position'])
    op.create_index('ix_deposit_rules_va_id', 'deposit_rules', ['va_id'])
    op.create_table(
        'line_placements',
        sa.Column('origin_id', sa.String(64), primary_key=True),
        sa.Column('va_id', sa.Integer(),
                  sa.ForeignKey('virtual_accounts.id', ondelete='CASCADE'), nullable=False),
        sa.Column('rule_id', sa.Integer(), nullable=True),
    )
    op.create_index('ix_line_placements_va_id', 'line_placements', ['va_id'])


def downgrade() -> None:
    op.drop_table('line_placements')
    op.drop_table('deposit_rules')
    op.drop_table('holding_lines')

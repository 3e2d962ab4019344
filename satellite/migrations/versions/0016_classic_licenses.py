"""Classic (PAK) licenses and the requests that convert them to Smart Licensing

Revision ID: 0016_classic_licenses
Revises: 0015_categories_evaluation
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from satellite.db import UTCDateTime

revision: str = '0016_classic_licenses'
down_revision: str | Sequence[str] | None = '0015_categories_evaluation'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        'classic_licenses',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('account_id', sa.Integer(), sa.ForeignKey('accounts.id'), nullable=False),
        sa.Column('va_id', sa.Integer(), sa.ForeignKey('virtual_accounts.id'), nullable=True),
        sa.Column('pak', sa.String(64), nullable=False),
        sa.Column('sku', sa.String(100), nullable=False),
        sa.Column('tag', sa.String(255), nullable=False),
        sa.Column('quantity', sa.Integer(), nullable=False),
        sa.Column('converted', sa.Integer(), nullable=False),
        sa.Column('device_udi', sa.String(201), nullable=False),
        sa.Column('imported_at', UTCDateTime(timezone=True), nullable=False),
        sa.UniqueConstraint('account_id', 'pak', 'sku'),
    )
    op.create_index('ix_classic_licenses_va', 'classic_licenses', ['va_id'])
    op.create_table(
        'classic_conversions',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('request_id', sa.String(32), nullable=False, unique=True),
        sa.Column('account_id', sa.Integer(), sa.ForeignKey('accounts.id'), nullable=False),
        sa.Column('va_id', sa.Integer(), sa.ForeignKey('virtual_accounts.id'), nullable=False),
        sa.Column('pak', sa.String(64), nullable=False),
        sa.Column('sku', sa.String(100), nullable=False),
        sa.Column('quantity', sa.Integer(), nullable=False),
        sa.Column('origin', sa.String(10), nullable=False),
        sa.Column('device_id', sa.Integer(), sa.ForeignKey('devices.id'), nullable=True),
        sa.Column('status', sa.String(16), nullable=False),
        sa.Column('requested_by', sa.String(150), nullable=False),
        sa.Column('requested_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('completed_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('line_id', sa.String(64), nullable=False),
        sa.Column('reason', sa.String(500), nullable=False),
    )
    op.create_index('ix_classic_conversions_account_status', 'classic_conversions',
                    ['account_id', 'status'])
    op.create_index('ix_classic_conversions_device', 'classic_conversions', ['device_id'])


def downgrade() -> None:
    op.drop_table('classic_conversions')
    op.drop_table('classic_licenses')

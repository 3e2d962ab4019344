"""Cisco SLUP: RUM reports kept verbatim, their counts, ACKs; devices say how they report

Revision ID: 0012_slup
Revises: 0011_security
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from satellite.db import UTCDateTime

revision: str = '0012_slup'
down_revision: str | Sequence[str] | None = '0011_security'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('devices') as batch:
        batch.add_column(sa.Column('reporting', sa.String(10), nullable=False,
                                   server_default='agent'))
    op.create_table(
        'slup_reports',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('device_id', sa.Integer(), sa.ForeignKey('devices.id'), nullable=False),
        sa.Column('va_id', sa.Integer(), sa.ForeignKey('virtual_accounts.id'), nullable=False),
        sa.Column('report_id', sa.String(64), nullable=False),
        sa.Column('tag', sa.String(255), nullable=False),
        sa.Column('software_version', sa.String(100), nullable=False),
        sa.Column('window_start', sa.BigInteger(), nullable=True),
        sa.Column('window_end', sa.BigInteger(), nullable=True),
        sa.Column('count', sa.Integer(), nullable=True),
        sa.Column('flags', sa.String(100), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('imported_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('exported_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('acked_at', UTCDateTime(timezone=True), nullable=True),
        sa.UniqueConstraint('device_id', 'report_id'),
    )
    op.create_index('ix_slup_reports_device_acked', 'slup_reports', ['device_id', 'acked_at'])
    op.create_index('ix_slup_reports_va_acked', 'slup_reports', ['va_id', 'acked_at'])
    op.create_table(
        'slup_usage',
        sa.Column('device_id', sa.Integer(), sa.ForeignKey('devices.id'), primary_key=True),
        sa.Column('tag', sa.String(255), primary_key=True),
        sa.Column('end_time', sa.BigInteger(), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.Column('report_id', sa.String(64), nullable=False),
    )
    op.create_table(
        'slup_acks',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('device_id', sa.Integer(), sa.ForeignKey('devices.id'), nullable=False),
        sa.Column('received_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('origin', sa.String(20), nullable=False),
        sa.Column('reports', sa.Integer(), nullable=False),
        sa.Column('document', sa.Text(), nullable=False),
    )
    op.create_index('ix_slup_acks_device_id', 'slup_acks', ['device_id'])
    op.create_table(
        'slup_cssm_files',
        sa.Column('name', sa.String(200), primary_key=True),
        sa.Column('device_id', sa.Integer(), sa.ForeignKey('devices.id'), nullable=False),
    )


def downgrade() -> None:
    for table in ('slup_cssm_files', 'slup_acks', 'slup_usage', 'slup_reports'):
        op.drop_table(table)
    with op.batch_alter_table('devices') as batch:
        batch.drop_column('reporting')

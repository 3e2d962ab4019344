"""foundation

Revision ID: 0001
Revises:
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import satellite.db

revision: str = '0001'
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('accounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('domain', sa.String(length=253), nullable=False),
    sa.Column('reservation_mode', sa.String(length=16), nullable=False),
    sa.Column('created_at', satellite.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_accounts')),
    sa.UniqueConstraint('domain', name=op.f('uq_accounts_domain')),
    sa.UniqueConstraint('name', name=op.f('uq_accounts_name'))
    )
    op.create_table('audit_events',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('at', satellite.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('target', sa.String(length=300), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('details', sa.Text(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_events_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_events_at'), ['at'], unique=False)

    op.create_table('audit_head',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('last_id', sa.Integer(), nullable=False),
    sa.Column('last_hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_head'))
    )
    op.create_table('satellite_state',
    sa.Column('key', sa.String(length=100), nullable=False),
    sa.Column('value', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_satellite_state'))
    )
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=150), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('is_system_admin', sa.Boolean(), nullable=False),
    sa.Column('disabled', sa.Boolean(), nullable=False),
    sa.Column('must_change_password', sa.Boolean(), nullable=False),
    sa.Column('failed_logins', sa.Integer(), nullable=False),
    sa.Column('locked_until', satellite.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', satellite.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('username', name=op.f('uq_users_username'))
    )
    op.create_table('virtual_accounts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('parent_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('depth', sa.Integer(), nullable=False),
    sa.Column('is_default', sa.Boolean(), nullable=False),
    sa.Column('created_at', satellite.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_virtual_accounts_account_id_accounts')),
    sa.ForeignKeyConstraint(['parent_id'], ['virtual_accounts.id'], name=op.f('fk_virtual_accounts_parent_id_virtual_accounts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_virtual_accounts')),
    sa.UniqueConstraint('account_id', 'name', name=op.f('uq_virtual_accounts_account_id'))
    )
    with op.batch_alter_table('virtual_accounts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_virtual_accounts_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_virtual_accounts_parent_id'), ['parent_id'], unique=False)

    op.create_table('license_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('va_id', sa.Integer(), nullable=False),
    sa.Column('tag', sa.String(length=255), nullable=False),
    sa.Column('display_name', sa.String(length=255), nullable=False),
    sa.Column('license_type', sa.String(length=16), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=True),
    sa.Column('end_date', sa.Date(), nullable=True),
    sa.Column('subscription_id', sa.String(length=100), nullable=False),
    sa.Column('export_controlled', sa.Boolean(), nullable=False),
    sa.Column('search_tags', sa.Text(), nullable=False),
    sa.Column('origin_id', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['va_id'], ['virtual_accounts.id'], name=op.f('fk_license_lines_va_id_virtual_accounts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_license_lines'))
    )
    with op.batch_alter_table('license_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_license_lines_origin_id'), ['origin_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_license_lines_tag'), ['tag'], unique=False)
        batch_op.create_index('ix_license_lines_va_tag', ['va_id', 'tag'], unique=False)

    op.create_table('license_usage',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('owner', sa.String(length=100), nullable=False),
    sa.Column('va_id', sa.Integer(), nullable=False),
    sa.Column('tag', sa.String(length=255), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['va_id'], ['virtual_accounts.id'], name=op.f('fk_license_usage_va_id_virtual_accounts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_license_usage')),
    sa.UniqueConstraint('owner', 'va_id', 'tag', 'kind', name=op.f('uq_license_usage_owner'))
    )
    with op.batch_alter_table('license_usage', schema=None) as batch_op:
        batch_op.create_index('ix_license_usage_va_tag', ['va_id', 'tag'], unique=False)

    op.create_table('license_usage_totals',
    sa.Column('va_id', sa.Integer(), nullable=False),
    sa.Column('tag', sa.String(length=255), nullable=False),
    sa.Column('in_use', sa.Integer(), nullable=False),
    sa.Column('reserved', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['va_id'], ['virtual_accounts.id'], name=op.f('fk_license_usage_totals_va_id_virtual_accounts')),
    sa.PrimaryKeyConstraint('va_id', 'tag', name=op.f('pk_license_usage_totals'))
    )


def downgrade() -> None:
    op.drop_table('license_usage_totals')
    with op.batch_alter_table('license_usage', schema=None) as batch_op:
        batch_op.drop_index('ix_license_usage_va_tag')

    op.drop_table('license_usage')
    with op.batch_alter_table('license_lines', schema=None) as batch_op:
        batch_op.drop_index('ix_license_lines_va_tag')
        batch_op.drop_index(batch_op.f('ix_license_lines_tag'))
        batch_op.drop_index(batch_op.f('ix_license_lines_origin_id'))

    op.drop_table('license_lines')
    with op.batch_alter_table('virtual_accounts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_virtual_accounts_parent_id'))
        batch_op.drop_index(batch_op.f('ix_virtual_accounts_account_id'))

    op.drop_table('virtual_accounts')
    op.drop_table('users')
    op.drop_table('satellite_state')
    op.drop_table('audit_head')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_events_at'))
        batch_op.drop_index(batch_op.f('ix_audit_events_action'))
        batch_op.drop_index(batch_op.f('ix_audit_events_account_id'))

    op.drop_table('audit_events')
    op.drop_table('accounts')

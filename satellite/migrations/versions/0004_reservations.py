"""offline reservations (SLR and PLR)

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import satellite.db

revision: str = '0004'
down_revision: str | Sequence[str] | None = '0003'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('reservations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('va_id', sa.Integer(), nullable=False),
    sa.Column('pid', sa.String(length=64), nullable=False),
    sa.Column('serial_number', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=3), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('request_code', sa.Text(), nullable=False),
    sa.Column('nonce', sa.String(length=16), nullable=False),
    sa.Column('return_commitment', sa.String(length=20), nullable=False),
    sa.Column('chain_index', sa.Integer(), nullable=False),
    sa.Column('chain_value', sa.String(length=20), nullable=False),
    sa.Column('serial', sa.Integer(), nullable=False),
    sa.Column('confirmed_serial', sa.Integer(), nullable=False),
    sa.Column('authorization_code', sa.Text(), nullable=False),
    sa.Column('issued_at', satellite.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', satellite.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('closed_at', satellite.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('close_reason', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_reservations_account_id_accounts')),
    sa.ForeignKeyConstraint(['va_id'], ['virtual_accounts.id'], name=op.f('fk_reservations_va_id_virtual_accounts')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reservations')),
    sa.UniqueConstraint('return_commitment', name=op.f('uq_reservations_return_commitment'))
    )
    with op.batch_alter_table('reservations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reservations_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reservations_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_reservations_va_id'), ['va_id'], unique=False)
        batch_op.create_index('uq_reservations_open_udi', ['pid', 'serial_number'], unique=True,
                              sqlite_where=sa.text("status = 'Reserved'"),
                              postgresql_where=sa.text("status = 'Reserved'"))

    op.create_table('reservation_lines',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reservation_id', sa.Integer(), nullable=False),
    sa.Column('tag', sa.String(length=255), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('held', sa.Integer(), nullable=False),
    sa.Column('license_type', sa.String(length=16), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=True),
    sa.Column('end_date', sa.Date(), nullable=True),
    sa.ForeignKeyConstraint(['reservation_id'], ['reservations.id'], name=op.f('fk_reservation_lines_reservation_id_reservations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reservation_lines'))
    )
    with op.batch_alter_table('reservation_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reservation_lines_reservation_id'), ['reservation_id'], unique=False)


def downgrade() -> None:
    op.drop_table('reservation_lines')
    op.drop_table('reservations')

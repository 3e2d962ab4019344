"""alert delivery: severities, channels and the delivery outbox

Revision ID: 0007_alert_delivery
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import satellite.db

revision: str = '0007_alert_delivery'
down_revision: str | Sequence[str] | None = '0006'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('severity', sa.String(length=16), server_default='warning',
                                      nullable=False))
    # Alerts raised before severities existed take their kind's.
    op.execute("UPDATE alerts SET severity = 'critical' WHERE kind = 'sync_overdue'")
    op.execute("UPDATE alerts SET severity = 'info' WHERE kind = 'entitlement_expiring'")

    op.create_table('alert_channels',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('target', sa.Text(), nullable=False),
    sa.Column('min_severity', sa.String(length=16), nullable=False),
    sa.Column('dedupe_hours', sa.Integer(), nullable=False),
    sa.Column('sealed_secret', sa.Text(), nullable=True),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('created_at', satellite.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('email','syslog','webhook')", name=op.f('ck_alert_channels_kind')),
    sa.CheckConstraint("min_severity IN ('info','warning','critical')", name=op.f('ck_alert_channels_min_severity')),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_alert_channels_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_channels')),
    sa.UniqueConstraint('account_id', 'name', name=op.f('uq_alert_channels_account_id'))
    )
    with op.batch_alter_table('alert_channels', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_channels_account_id'), ['account_id'], unique=False)

    op.create_table('alert_deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('alert_id', sa.Integer(), nullable=False),
    sa.Column('channel_id', sa.Integer(), nullable=False),
    sa.Column('alert_key', sa.String(length=300), nullable=False),
    sa.Column('severity', sa.String(length=16), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', satellite.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=False),
    sa.Column('repeats', sa.Integer(), nullable=False),
    sa.Column('created_at', satellite.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', satellite.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("state IN ('pending','sent','failed')", name=op.f('ck_alert_deliveries_state')),
    sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'], name=op.f('fk_alert_deliveries_alert_id_alerts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['channel_id'], ['alert_channels.id'], name=op.f('fk_alert_deliveries_channel_id_alert_channels'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alert_deliveries'))
    )
    with op.batch_alter_table('alert_deliveries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_deliveries_alert_id'), ['alert_id'], unique=False)
        batch_op.create_index('ix_alert_deliveries_due', ['state', 'next_attempt_at'], unique=False)
        batch_op.create_index('ix_alert_deliveries_dedupe', ['channel_id', 'alert_key', 'created_at'], unique=False)


def downgrade() -> None:
    op.drop_table('alert_deliveries')
    op.drop_table('alert_channels')
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_column('severity')

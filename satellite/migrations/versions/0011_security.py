"""server-side web sessions; sign-in failures counted per source address and user name;
access requests may name an account that does not exist

Revision ID: 0011_security
Revises: 0010_pool_quantities
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import satellite.db

revision: str = '0011_security'
down_revision: str | Sequence[str] | None = '0010_pool_quantities'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('web_sessions',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', satellite.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', satellite.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', satellite.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ended_at', satellite.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_web_sessions_user_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_web_sessions'))
    )
    op.create_index(op.f('ix_web_sessions_user_id'), 'web_sessions', ['user_id'], unique=False)
    op.create_index(op.f('ix_web_sessions_expires_at'), 'web_sessions', ['expires_at'],
                    unique=False)
    op.create_table('sign_in_throttles',
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.Column('blocked_until', satellite.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('updated_at', satellite.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('key', name=op.f('pk_sign_in_throttles'))
    )
    op.create_index(op.f('ix_sign_in_throttles_updated_at'), 'sign_in_throttles', ['updated_at'],
                    unique=False)


    # Lockouts kept on the user (any source could lock anyone) give way to sign_in_throttles.
    op.execute("UPDATE users SET failed_logins = 0, locked_until = NULL")
    with op.batch_alter_table('access_requests') as batch_op:
        batch_op.add_column(sa.Column('account_ref', sa.String(length=255), server_default='',
                                      nullable=False))
        batch_op.alter_column('account_id', existing_type=sa.Integer(), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM access_requests WHERE account_id IS NULL")
    with op.batch_alter_table('access_requests') as batch_op:
        batch_op.alter_column('account_id', existing_type=sa.Integer(), nullable=False)
        batch_op.drop_column('account_ref')
    op.drop_index(op.f('ix_sign_in_throttles_updated_at'), table_name='sign_in_throttles')
    op.drop_table('sign_in_throttles')
    op.drop_index(op.f('ix_web_sessions_expires_at'), table_name='web_sessions')
    op.drop_index(op.f('ix_web_sessions_user_id'), table_name='web_sessions')
    op.drop_table('web_sessions')

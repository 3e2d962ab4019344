"""job run history: one row per scheduled job run, with the node that ran it

Revision ID: 0009_job_runs
Revises: 0008_list_indexes
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import satellite.db

revision: str = '0009_job_runs'
down_revision: str | Sequence[str] | None = '0008_list_indexes'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('job_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('job', sa.String(length=100), nullable=False),
    sa.Column('node', sa.String(length=200), nullable=False),
    sa.Column('started_at', satellite.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('finished_at', satellite.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_job_runs'))
    )
    with op.batch_alter_table('job_runs', schema=None) as batch_op:
        batch_op.create_index('ix_job_runs_job_started_at', ['job', 'started_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('job_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_job_runs_job_started_at')
    op.drop_table('job_runs')

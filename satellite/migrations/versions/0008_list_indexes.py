"""list pages: devices carry their account; indexes that page in UDI order

Revision ID: 0008_list_indexes
Revises: 0007_ui_history
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = '0008_list_indexes'
down_revision: str | Sequence[str] | None = '0007_ui_history'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DEVICE_INDEXES = (
    ("ix_devices_account_udi", ["account_id", "pid", "serial"]),
    ("ix_devices_account_status_udi", ["account_id", "status", "pid", "serial"]),
    ("ix_devices_account_tag_udi", ["account_id", "product_tag", "pid", "serial"]),
    ("ix_devices_va_udi", ["va_id", "pid", "serial"]),
    ("ix_devices_account_serial", ["account_id", "serial"]),
    ("ix_devices_account_hostname", ["account_id", "hostname"]),
)


def upgrade() -> None:
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('account_id', sa.Integer(), nullable=True))
    op.execute("UPDATE devices SET account_id = (SELECT virtual_accounts.account_id "
               "FROM virtual_accounts WHERE virtual_accounts.id = devices.va_id)")
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.alter_column('account_id', existing_type=sa.Integer(), nullable=False)
        batch_op.create_foreign_key(batch_op.f('fk_devices_account_id_accounts'), 'accounts',
                                    ['account_id'], ['id'])
    with op.batch_alter_table('devices', schema=None) as batch_op:
        for name, columns in _DEVICE_INDEXES:
            batch_op.create_index(name, columns, unique=False)


def downgrade() -> None:
    with op.batch_alter_table('devices', schema=None) as batch_op:
        for name, _columns in reversed(_DEVICE_INDEXES):
            batch_op.drop_index(name)
        batch_op.drop_constraint(batch_op.f('fk_devices_account_id_accounts'), type_='foreignkey')
        batch_op.drop_column('account_id')

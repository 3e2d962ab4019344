"""devices and registration tokens

Revision ID: 0003
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import satellite.db

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UTC = satellite.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "registration_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("va_id", sa.Integer(), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("sealed_secret", sa.Text(), nullable=False),
        sa.Column("seal_key_id", sa.String(length=32), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("expires_at", UTC, nullable=False),
        sa.Column("max_uses", sa.Integer(), nullable=True),
        sa.Column("uses", sa.Integer(), nullable=False),
        sa.Column("export_controlled", sa.Boolean(), nullable=False),
        sa.Column("revoked_at", UTC, nullable=True),
        sa.Column("revoked_by", sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(["va_id"], ["virtual_accounts.id"],
                                name=op.f("fk_registration_tokens_va_id_virtual_accounts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_registration_tokens")),
        sa.UniqueConstraint("secret_hash", name=op.f("uq_registration_tokens_secret_hash")),
    )
    op.create_index(op.f("ix_registration_tokens_va_id"), "registration_tokens", ["va_id"])
    op.create_table(
        "devices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("va_id", sa.Integer(), nullable=False),
        sa.Column("pid", sa.String(length=100), nullable=False),
        sa.Column("serial", sa.String(length=100), nullable=False),
        sa.Column("vid", sa.String(length=50), nullable=False),
        sa.Column("uuid", sa.String(length=64), nullable=False),
        sa.Column("hostname", sa.String(length=255), nullable=False),
        sa.Column("product_tag", sa.String(length=255), nullable=False),
        sa.Column("public_key", sa.LargeBinary(length=32), nullable=False),
        sa.Column("certificate_pem", sa.Text(), nullable=False),
        sa.Column("certificate_serial", sa.String(length=64), nullable=False),
        sa.Column("certificate_expires_at", UTC, nullable=False),
        sa.Column("token_id", sa.Integer(), nullable=True),
        sa.Column("export_controlled", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("first_registered_at", UTC, nullable=False),
        sa.Column("registered_at", UTC, nullable=False),
        sa.Column("registrations", sa.Integer(), nullable=False),
        sa.Column("last_contact_at", UTC, nullable=False),
        sa.Column("authorization_expires_at", UTC, nullable=True),
        sa.Column("deregistered_at", UTC, nullable=True),
        sa.ForeignKeyConstraint(["token_id"], ["registration_tokens.id"],
                                name=op.f("fk_devices_token_id_registration_tokens")),
        sa.ForeignKeyConstraint(["va_id"], ["virtual_accounts.id"],
                                name=op.f("fk_devices_va_id_virtual_accounts")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_devices")),
        sa.UniqueConstraint("pid", "serial", name=op.f("uq_devices_pid")),
    )
    op.create_index("ix_devices_va_status", "devices", ["va_id", "status"])
    op.create_index(op.f("ix_devices_status"), "devices", ["status"])
    op.create_index(op.f("ix_devices_last_contact_at"), "devices", ["last_contact_at"])
    op.create_index(op.f("ix_devices_certificate_expires_at"), "devices", ["certificate_expires_at"])
    op.create_index(op.f("ix_devices_certificate_serial"), "devices", ["certificate_serial"])
    op.create_table(
        "revoked_certificates",
        sa.Column("serial", sa.String(length=64), nullable=False),
        sa.Column("device_id", sa.Integer(), nullable=False),
        sa.Column("revoked_at", UTC, nullable=False),
        sa.Column("reason", sa.String(length=50), nullable=False),
        sa.ForeignKeyConstraint(["device_id"], ["devices.id"],
                                name=op.f("fk_revoked_certificates_device_id_devices")),
        sa.PrimaryKeyConstraint("serial", name=op.f("pk_revoked_certificates")),
    )
    op.create_index(op.f("ix_revoked_certificates_device_id"), "revoked_certificates", ["device_id"])
    op.create_table(
        "device_nonces",
        sa.Column("device_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("nonce", sa.String(length=64), nullable=False),
        sa.Column("expires_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("device_id", "nonce", name=op.f("pk_device_nonces")),
    )
    op.create_index(op.f("ix_device_nonces_expires_at"), "device_nonces", ["expires_at"])


def downgrade() -> None:
    op.drop_table("device_nonces")
    op.drop_table("revoked_certificates")
    op.drop_table("devices")
    op.drop_table("registration_tokens")

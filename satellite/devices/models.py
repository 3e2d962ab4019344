from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, LargeBinary, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from satellite.db import Base
from satellite.licenses.models import OUT_OF_COMPLIANCE as OUT_OF_COMPLIANCE

# Device states, as operators read them in lists; Out Of Compliance is the pools' word for it.
REGISTERED = "Registered"
AUTHORIZED = "Authorized"
AUTHORIZATION_EXPIRED = "Authorization Expired"
DEREGISTERED = "Deregistered"
DEVICE_STATES = (REGISTERED, AUTHORIZED, OUT_OF_COMPLIANCE, AUTHORIZATION_EXPIRED, DEREGISTERED)
# How a device reports: the satellite's own protocol, or Cisco SLUP usage files (satellite.slup).
AGENT, SLUP = "agent", "slup"


class Device(Base):
    """A product instance, kept after deregistration as history."""

    __tablename__ = "devices"
    __table_args__ = (
        UniqueConstraint("pid", "serial"),
        Index("ix_devices_va_status", "va_id", "status"),
        # Lists page through devices in UDI order inside an account or a VA, optionally of one
        # status or product tag, by walking these indexes: no sort, no OFFSET over a million rows.
        Index("ix_devices_account_udi", "account_id", "pid", "serial"),
        Index("ix_devices_account_status_udi", "account_id", "status", "pid", "serial"),
        Index("ix_devices_account_tag_udi", "account_id", "product_tag", "pid", "serial"),
        Index("ix_devices_va_udi", "va_id", "pid", "serial"),
        Index("ix_devices_account_serial", "account_id", "serial"),
        Index("ix_devices_account_hostname", "account_id", "hostname"),
        Index("ix_devices_account_evaluation_udi", "account_id", "in_evaluation", "pid", "serial"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    va_id: Mapped[int] = mapped_column(ForeignKey("virtual_accounts.id"))
    # The account of the VA, kept beside it so account-wide lists need no join: a move
    # (devices.moves) and re-registration set both.
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    pid: Mapped[str] = mapped_column(String(100))
    serial: Mapped[str] = mapped_column(String(100))
    vid: Mapped[str] = mapped_column(String(50), default="")
    uuid: Mapped[str] = mapped_column(String(64), default="")
    hostname: Mapped[str] = mapped_column(String(255), default="")
    product_tag: Mapped[str] = mapped_column(String(255), default="")
    # Raw 32-byte Ed25519 public key: verified on every message, so kept in its cheapest form.
    public_key: Mapped[bytes] = mapped_column(LargeBinary(32))
    certificate_pem: Mapped[str] = mapped_column(Text)
    certificate_serial: Mapped[str] = mapped_column(String(64), index=True)
    certificate_expires_at: Mapped[datetime] = mapped_column(index=True)
    token_id: Mapped[int | None] = mapped_column(ForeignKey("registration_tokens.id"))
    export_controlled: Mapped[bool] = mapped_column(default=False)
    status: Mapped[str] = mapped_column(String(32), index=True)
    first_registered_at: Mapped[datetime]
    registered_at: Mapped[datetime]
    registrations: Mapped[int] = mapped_column(default=1)
    last_contact_at: Mapped[datetime] = mapped_column(index=True)
    authorization_expires_at: Mapped[datetime | None]
    deregistered_at: Mapped[datetime | None]
    reporting: Mapped[str] = mapped_column(String(10), default=AGENT, server_default=AGENT)
    # The evaluation period (devices.evaluation): when it began, never reset, and whether the
    # device relies on it now (uses a tag its VA holds no license for, unregistered).
    evaluation_started_at: Mapped[datetime | None]
    in_evaluation: Mapped[bool] = mapped_column(default=False, server_default=false())


class RevokedCertificate(Base):
    """ID certificates the device CA no longer vouches for (deregistration, removal, renewal)."""

    __tablename__ = "revoked_certificates"

    serial: Mapped[str] = mapped_column(String(64), primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"), index=True)
    revoked_at: Mapped[datetime]
    reason: Mapped[str] = mapped_column(String(50))


class DeviceNonce(Base):
    """Nonces seen in signed device messages, kept in the database so every node refuses a replay."""

    __tablename__ = "device_nonces"

    device_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    expires_at: Mapped[datetime] = mapped_column(index=True)

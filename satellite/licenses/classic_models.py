"""Classic (PAK) licenses as Central lists them, and the requests that convert them to Smart
Licensing (pooled lines)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from satellite.db import Base

# Who asked for a conversion: an operator (CLI, REST, UI) or a device in its usage report.
OPERATOR, DEVICE = "operator", "device"
# A request stays Pending until Central's answer comes back with a sync response.
PENDING, COMPLETED, REJECTED = "Pending", "Completed", "Rejected"
CONVERSION_STATES = (PENDING, COMPLETED, REJECTED)


class ClassicLicense(Base):
    """One SKU of a PAK (Product Activation Key) of an account, as Central last listed it."""

    __tablename__ = "classic_licenses"
    __table_args__ = (UniqueConstraint("account_id", "pak", "sku"),
                      Index("ix_classic_licenses_va", "va_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    # None: associated with no VA, visible to everyone with access to the account.
    va_id: Mapped[int | None] = mapped_column(ForeignKey("virtual_accounts.id"))
    pak: Mapped[str] = mapped_column(String(64))
    sku: Mapped[str] = mapped_column(String(100))
    # The Smart Licensing entitlement tag it converts to.
    tag: Mapped[str] = mapped_column(String(255))
    quantity: Mapped[int]
    # What Central has converted so far.
    converted: Mapped[int] = mapped_column(default=0)
    # The UDI (PID:SN) of the device a node-locked license is bound to; "" when none.
    device_udi: Mapped[str] = mapped_column(String(201), default="")
    imported_at: Mapped[datetime]


class ClassicConversion(Base):
    """A request to convert a quantity of a classic license into pooled licenses of a VA."""

    __tablename__ = "classic_conversions"
    __table_args__ = (Index("ix_classic_conversions_account_status", "account_id", "status"),
                      Index("ix_classic_conversions_device", "device_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    # The id Central deduplicates and answers by.
    request_id: Mapped[str] = mapped_column(String(32), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    # Where the pooled lines go.
    va_id: Mapped[int] = mapped_column(ForeignKey("virtual_accounts.id"))
    pak: Mapped[str] = mapped_column(String(64))
    sku: Mapped[str] = mapped_column(String(100))
    quantity: Mapped[int]
    origin: Mapped[str] = mapped_column(String(10))
    device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id"))
    status: Mapped[str] = mapped_column(String(16))
    requested_by: Mapped[str] = mapped_column(String(150))
    requested_at: Mapped[datetime]
    completed_at: Mapped[datetime | None]
    # Central's entitlement line the pooled licenses arrived in.
    line_id: Mapped[str] = mapped_column(String(64), default="")
    reason: Mapped[str] = mapped_column(String(500), default="")

"""One indexed row per tag and item, so a list filtered by a tag reads the tag's index
instead of searching text."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from satellite.db import Base


class LicenseLabel(Base):
    """A tag on a license pool (one entitlement tag in one VA): every line of the pool, those
    Central sends later included, carries it."""

    __tablename__ = "license_labels"
    __table_args__ = (Index("ix_license_labels_label", "label", "va_id", "tag"),)

    va_id: Mapped[int] = mapped_column(ForeignKey("virtual_accounts.id", ondelete="CASCADE"),
                                       primary_key=True)
    tag: Mapped[str] = mapped_column(String(255), primary_key=True)
    label: Mapped[str] = mapped_column(String(64), primary_key=True)


class DeviceLabel(Base):
    """A tag on a product instance; it follows the device wherever it moves.

    It carries the device's account and UDI (`follow_device` keeps the account current), so
    a list of an account filtered by a tag reads the tag's index in the list's own order."""

    __tablename__ = "device_labels"
    # The device's id ends the index, so that counting and probing need not read the table.
    __table_args__ = (Index("ix_device_labels_account_udi", "label", "account_id", "pid",
                            "serial", "device_id"),)

    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id", ondelete="CASCADE"),
                                           primary_key=True)
    label: Mapped[str] = mapped_column(String(64), primary_key=True)
    account_id: Mapped[int]
    pid: Mapped[str] = mapped_column(String(100))
    serial: Mapped[str] = mapped_column(String(100))


class ReservationLabel(Base):
    """A tag on a reservation (kept with it as history once it is returned)."""

    __tablename__ = "reservation_labels"
    __table_args__ = (Index("ix_reservation_labels_label", "label", "reservation_id"),)

    reservation_id: Mapped[int] = mapped_column(
        ForeignKey("reservations.id", ondelete="CASCADE"), primary_key=True)
    label: Mapped[str] = mapped_column(String(64), primary_key=True)

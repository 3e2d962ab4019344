"""What the satellite keeps of SLUP devices: their reports verbatim, what they count, their ACKs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from satellite.db import Base


class RumReportRow(Base):
    """One RUM report as its device wrote it (`text`), with what lists and pages show of it."""

    __tablename__ = "slup_reports"
    __table_args__ = (
        UniqueConstraint("device_id", "report_id"),
        Index("ix_slup_reports_device_acked", "device_id", "acked_at"),
        Index("ix_slup_reports_va_acked", "va_id", "acked_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"))
    # The VA the report was filed under, carried with it to Central.
    va_id: Mapped[int] = mapped_column(ForeignKey("virtual_accounts.id"))
    report_id: Mapped[str] = mapped_column(String(64))
    tag: Mapped[str] = mapped_column(String(255))
    software_version: Mapped[str] = mapped_column(String(100), default="")
    window_start: Mapped[int | None] = mapped_column(BigInteger)
    window_end: Mapped[int | None] = mapped_column(BigInteger)
    count: Mapped[int | None]
    flags: Mapped[str] = mapped_column(String(100), default="")
    # The report's exact JSON text: payload and signature are never re-serialised.
    text: Mapped[str] = mapped_column(Text)
    imported_at: Mapped[datetime]
    exported_at: Mapped[datetime | None]
    acked_at: Mapped[datetime | None]


class SlupUsage(Base):
    """A SLUP device's count of a tag: its latest closed measurement, by end time."""

    __tablename__ = "slup_usage"

    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(255), primary_key=True)
    end_time: Mapped[int] = mapped_column(BigInteger)
    count: Mapped[int]
    report_id: Mapped[str] = mapped_column(String(64))


class RumAck(Base):
    """An acknowledgement of a device's reports, from Central or from Cisco's CSSM by file."""

    __tablename__ = "slup_acks"

    id: Mapped[int] = mapped_column(primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"), index=True)
    received_at: Mapped[datetime]
    origin: Mapped[str] = mapped_column(String(20))
    reports: Mapped[int]
    # The `<smartLicense>` document the device imports, exactly as it arrived.
    document: Mapped[str] = mapped_column(Text)


class CssmFile(Base):
    """Which device each `dev_<n>_<time>.txt` of a cssm-offline export holds, so that CSSM's
    `ACK_dev_<n>_<time>` files find their device."""

    __tablename__ = "slup_cssm_files"

    name: Mapped[str] = mapped_column(String(200), primary_key=True)
    device_id: Mapped[int] = mapped_column(ForeignKey("devices.id"))

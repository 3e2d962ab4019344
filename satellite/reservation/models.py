from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from satellite.db import Base

RESERVED = "Reserved"
RETURNED = "Returned"
REMOVED = "Removed"
RESERVATION_STATES = (RESERVED, RETURNED, REMOVED)


class Reservation(Base):
    """One device's offline reservation, from its request code to its return or removal."""

    __tablename__ = "reservations"
    __table_args__ = (
        # A UDI holds at most one open reservation; closed ones stay as history.
        Index("uq_reservations_open_udi", "pid", "serial_number", unique=True,
              sqlite_where=text("status = 'Reserved'"),
              postgresql_where=text("status = 'Reserved'")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    va_id: Mapped[int] = mapped_column(ForeignKey("virtual_accounts.id"), index=True)
    pid: Mapped[str] = mapped_column(String(64))
    serial_number: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(3))  # SLR or PLR
    status: Mapped[str] = mapped_column(String(16), index=True)
    request_code: Mapped[str] = mapped_column(Text)
    nonce: Mapped[str] = mapped_column(String(16))
    # What the request bound: the device reveals the preimages, nobody else can compute them.
    return_commitment: Mapped[str] = mapped_column(String(20), unique=True)
    chain_index: Mapped[int]
    chain_value: Mapped[str] = mapped_column(String(20))
    serial: Mapped[int]
    confirmed_serial: Mapped[int]
    authorization_code: Mapped[str] = mapped_column(Text)
    issued_at: Mapped[datetime]
    created_at: Mapped[datetime]
    closed_at: Mapped[datetime | None]
    close_reason: Mapped[str] = mapped_column(Text, default="")


class ReservationLine(Base):
    """One entitlement of the last authorization code issued for a reservation."""

    __tablename__ = "reservation_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    reservation_id: Mapped[int] = mapped_column(ForeignKey("reservations.id"), index=True)
    tag: Mapped[str] = mapped_column(String(255))
    count: Mapped[int]
    # Licenses the pool keeps for this line: above `count` while a decrease awaits the
    # device's confirmation; a line with count 0 only holds.
    held: Mapped[int]
    license_type: Mapped[str] = mapped_column(String(16))
    start_date: Mapped[date | None]
    end_date: Mapped[date | None]

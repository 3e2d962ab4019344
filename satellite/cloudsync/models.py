"""The outbound log: every fact Central needs, in order, written with the change that caused it."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from satellite.db import Base


class OutboundEvent(Base):
    """One logged fact. Rows are only ever added; acknowledgement is a watermark, not a flag."""

    __tablename__ = "sync_outbound"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime]
    # Canonical JSON of the event's licensing data.
    payload: Mapped[str] = mapped_column(Text)


class OutboundHead(Base):
    """The single counter row: locked by every append, so sequences are dense and ordered."""

    __tablename__ = "sync_outbound_head"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    last_seq: Mapped[int] = mapped_column(BigInteger)


class SyncRun(Base):
    """One exchange with Central, for the sync history: a file written or applied, or a
    network run (which also writes and applies one of each)."""

    __tablename__ = "sync_history"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(index=True)
    # export (usage batch), register (registration request), import (response), network
    action: Mapped[str] = mapped_column(String(20))
    serial: Mapped[int | None] = mapped_column(BigInteger)
    # Records carried: events exported, entitlement lines received.
    records: Mapped[int | None] = mapped_column(BigInteger)
    summary: Mapped[str] = mapped_column(Text, default="")
    ok: Mapped[bool]
    error: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(200), default="")


class _LineTerms:
    """What Central says of a line, kept while the line waits outside any pool."""

    tag: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(255), default="")
    license_type: Mapped[str] = mapped_column(String(16))
    quantity: Mapped[int]
    start_date: Mapped[date | None]
    end_date: Mapped[date | None]
    subscription_id: Mapped[str] = mapped_column(String(100), default="")
    export_controlled: Mapped[bool] = mapped_column(default=False)


class HeldLine(_LineTerms, Base):
    """A line of Central's latest snapshot for a domain with no Active account: held, counted
    nowhere, delivered when the account is created or activated."""

    __tablename__ = "held_lines"

    line_id: Mapped[str] = mapped_column(String(64), primary_key=True)  # Central's line id
    domain: Mapped[str] = mapped_column(String(253), index=True)
    va: Mapped[str | None] = mapped_column(String(200))
    held_at: Mapped[datetime]


class HoldingLine(_LineTerms, Base):
    """A line Central lists in the site's partner holding account: it counts nowhere until an
    administrator deposits it (as license lines whose origin_id is `line_id`). Each snapshot
    rewrites these rows; `quantity` is Central's whole quantity, deposited pieces included."""

    __tablename__ = "holding_lines"

    line_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    holding: Mapped[str] = mapped_column(String(253))
    account: Mapped[str] = mapped_column(String(253))
    received_at: Mapped[datetime]

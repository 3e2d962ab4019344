from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from satellite.db import Base

LICENSE_TYPES = ("PERPETUAL", "TERM", "DEMO")
USAGE_KINDS = ("in_use", "reserved")
IN_COMPLIANCE = "In Compliance"
OUT_OF_COMPLIANCE = "Out Of Compliance"


class LicenseLine(Base):
    """One pool line: a quantity of a tag in a VA, as Central sent it or as a transfer moved it."""

    __tablename__ = "license_lines"
    # By end date within each VA: a dashboard lists an account's lines that end soon.
    __table_args__ = (Index("ix_license_lines_va_tag", "va_id", "tag"),
                      Index("ix_license_lines_va_end", "va_id", "end_date"))

    id: Mapped[int] = mapped_column(primary_key=True)
    va_id: Mapped[int] = mapped_column(ForeignKey("virtual_accounts.id"))
    tag: Mapped[str] = mapped_column(String(255), index=True)
    display_name: Mapped[str] = mapped_column(String(255), default="")
    license_type: Mapped[str] = mapped_column(String(16))
    quantity: Mapped[int]
    start_date: Mapped[date | None]
    end_date: Mapped[date | None]
    subscription_id: Mapped[str] = mapped_column(String(100), default="")
    export_controlled: Mapped[bool] = mapped_column(default=False)
    # Central's id of the order line this quantity came from; transfers keep it.
    origin_id: Mapped[str] = mapped_column(String(64), index=True)


class LicenseUsage(Base):
    """What one owner (a device, a reservation) consumes of a tag in a VA."""

    __tablename__ = "license_usage"
    __table_args__ = (
        UniqueConstraint("owner", "va_id", "tag", "kind"),
        Index("ix_license_usage_va_tag", "va_id", "tag"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    owner: Mapped[str] = mapped_column(String(100))
    va_id: Mapped[int] = mapped_column(ForeignKey("virtual_accounts.id"))
    tag: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16))
    quantity: Mapped[int]


class UsageTotal(Base):
    """A pool's row: the sums of its LicenseUsage (kept by usage.py) and of its license lines
    (kept by pools.py), each in the same transaction as every change to what it sums."""

    __tablename__ = "license_usage_totals"
    # Kept in key order on SQLite (no rowid), so an account's pools are read without a second
    # lookup per row.
    __table_args__ = {"sqlite_with_rowid": False}

    va_id: Mapped[int] = mapped_column(ForeignKey("virtual_accounts.id"), primary_key=True)
    tag: Mapped[str] = mapped_column(String(255), primary_key=True)
    in_use: Mapped[int] = mapped_column(default=0)
    reserved: Mapped[int] = mapped_column(default=0)
    # The lines' quantity on every day in [quantity_from, quantity_until) (NULL: unbounded).
    quantity: Mapped[int] = mapped_column(default=0, server_default="0")
    lines: Mapped[int] = mapped_column(default=0, server_default="0")
    export_controlled: Mapped[bool] = mapped_column(default=False, server_default=false())
    quantity_from: Mapped[date | None]
    quantity_until: Mapped[date | None]


class TagSearch(Base):
    """The display names of every line of a tag, one row per tag, so that finding tags by text
    reads a few rows instead of every line (kept by pools.py). Operators' own words on a pool
    are its tags (satellite.labels), found through their index."""

    __tablename__ = "license_tag_search"

    tag: Mapped[str] = mapped_column(String(255), primary_key=True)
    # Each distinct display name, separated by SEARCH_SEPARATOR.
    words: Mapped[str] = mapped_column(Text, default="")


SEARCH_SEPARATOR = "\x1f"


class UsageSnapshot(Base):
    """A VA's counters for one tag at the start of an hour, kept for the consumption history.

    The first snapshot of each UTC day is marked `daily`: older hourly detail is pruned to those.
    """

    __tablename__ = "license_usage_history"
    # Charts read one account's VAs over a time range; pruning reads by period (the key's start).
    __table_args__ = (Index("ix_license_usage_history_va_period", "va_id", "period_start"),)

    period_start: Mapped[datetime] = mapped_column(primary_key=True)
    va_id: Mapped[int] = mapped_column(ForeignKey("virtual_accounts.id", ondelete="CASCADE"),
                                       primary_key=True)
    tag: Mapped[str] = mapped_column(String(255), primary_key=True)
    quantity: Mapped[int]
    in_use: Mapped[int]
    reserved: Mapped[int]
    daily: Mapped[bool] = mapped_column(default=False)


class AccountUsageSnapshot(Base):
    """The same snapshot summed over an account's VAs, so that charts of a whole account read
    one row per tag and period however many VAs it has."""

    __tablename__ = "license_usage_history_accounts"

    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"),
                                            primary_key=True)
    period_start: Mapped[datetime] = mapped_column(primary_key=True)
    tag: Mapped[str] = mapped_column(String(255), primary_key=True)
    quantity: Mapped[int]
    in_use: Mapped[int]
    reserved: Mapped[int]
    daily: Mapped[bool] = mapped_column(default=False)


# What a deposit rule matches a line's text against.
RULE_MATCHES = ("tag", "name")


class DepositRule(Base):
    """An account's rule: lines Central sends with no VA named, whose tag (or display name)
    matches `pattern` (exact, or a glob with * ? [...]), go to `va_id`. Lowest position first."""

    __tablename__ = "deposit_rules"
    __table_args__ = (Index("ix_deposit_rules_account_position", "account_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"))
    position: Mapped[int]
    match: Mapped[str] = mapped_column(String(8))
    pattern: Mapped[str] = mapped_column(String(255))
    va_id: Mapped[int] = mapped_column(ForeignKey("virtual_accounts.id"), index=True)
    created_at: Mapped[datetime]


class LinePlacement(Base):
    """Where a Central line that named no VA was first placed (by a deposit rule, or by a
    deposit from the holding account): later snapshots keep it there."""

    __tablename__ = "line_placements"

    origin_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    va_id: Mapped[int] = mapped_column(ForeignKey("virtual_accounts.id", ondelete="CASCADE"),
                                       index=True)
    # The rule that placed it (gone rules leave it; None: deposited by hand).
    rule_id: Mapped[int | None]

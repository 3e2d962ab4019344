from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from satellite.db import Base

PENDING, APPROVED, DENIED = "PENDING", "APPROVED", "DENIED"


class RateBucket(Base):
    """Attempts per key in the current window; in the database so every node shares it."""

    __tablename__ = "rate_buckets"

    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    window_start: Mapped[int]
    count: Mapped[int]


class AccessRequest(Base):
    """A user asks for a role on an account; the account's admins decide."""

    __tablename__ = "access_requests"
    __table_args__ = (CheckConstraint("status IN ('PENDING','APPROVED','DENIED')", name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # None when no account answers to what the user typed: the request is kept (and answered)
    # like any other, so asking does not tell whether an account exists; nobody can decide it.
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"),
                                                   index=True)
    # The account as the user named it.
    account_ref: Mapped[str] = mapped_column(String(255), default="", server_default="")
    role: Mapped[str] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    created_at: Mapped[datetime]
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None]


class AccountRequest(Base):
    """A user asks for a new account; the system admin, or the parent domain's admins, decide."""

    __tablename__ = "account_requests"
    __table_args__ = (CheckConstraint("status IN ('PENDING','APPROVED','DENIED')", name="status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    domain: Mapped[str] = mapped_column(String(253))
    # The existing account whose domain the requested one sits under, if any.
    parent_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), index=True)
    # The Pending account the request created (none when its name or domain was taken).
    account_id: Mapped[int | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="SET NULL"), index=True)
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default=PENDING)
    created_at: Mapped[datetime]
    decided_by: Mapped[str | None] = mapped_column(String(200))
    decided_at: Mapped[datetime | None]

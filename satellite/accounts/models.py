from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from satellite.db import Base

RESERVATION_MODES = ("none", "specific", "permanent", "both")
DEFAULT_VA = "Default"
MAX_VA_DEPTH = 10
# An account is Pending until its approver activates it: its lines are held, and it cannot
# be used for tokens, registration, reservations or transfers until then.
ACTIVE, PENDING = "ACTIVE", "PENDING"


class Account(Base):
    __tablename__ = "accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    domain: Mapped[str] = mapped_column(String(253), unique=True)
    reservation_mode: Mapped[str] = mapped_column(String(16), default="none")
    # Export-control category (accounts.export_control): A unrestricted ... D.
    export_category: Mapped[str] = mapped_column(String(1), default="A", server_default="A")
    created_at: Mapped[datetime]
    status: Mapped[str] = mapped_column(String(16), default=ACTIVE, server_default=ACTIVE)
    # Who asked for the account (a request) or created it; who approved or activated it.
    created_by: Mapped[str] = mapped_column(String(200), default="", server_default="")
    approved_by: Mapped[str | None] = mapped_column(String(200))
    activated_at: Mapped[datetime | None]


class VirtualAccount(Base):
    __tablename__ = "virtual_accounts"
    __table_args__ = (UniqueConstraint("account_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("accounts.id"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("virtual_accounts.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    # 1 for a top-level VA; kept so the 10-level limit is checked without walking the tree.
    depth: Mapped[int] = mapped_column(default=1)
    is_default: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime]

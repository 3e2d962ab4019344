from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from satellite.db import Base

SYNC_OVERDUE = "sync_overdue"
CENTRAL_UNREACHABLE = "central_unreachable"
OUT_OF_COMPLIANCE = "out_of_compliance"
ENTITLEMENT_EXPIRING = "entitlement_expiring"
AUTHORIZATION_EXPIRED = "authorization_expired"
BACKUP_FAILED = "backup_failed"
KINDS = (SYNC_OVERDUE, CENTRAL_UNREACHABLE, OUT_OF_COMPLIANCE, ENTITLEMENT_EXPIRING,
         AUTHORIZATION_EXPIRED, BACKUP_FAILED)


class Alert(Base):
    """One condition, raised once and updated while it lasts; cleared when it no longer holds."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    # What the alert is about, e.g. "entitlement_expiring:<line>"; one open alert per key.
    key: Mapped[str] = mapped_column(String(300), unique=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"),
                                                   index=True)
    message: Mapped[str] = mapped_column(Text)
    raised_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    cleared_at: Mapped[datetime | None]

"""Alerts: conditions an operator should act on, kept as records the UI, API and CLI list.

Delivery channels (email through the site's SMTP relay, syslog, webhook) receive them, per
account and minimum severity, through an outbox: one row per (alert, channel) delivery.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from satellite.db import Base

SYNC_OVERDUE = "sync_overdue"
CENTRAL_UNREACHABLE = "central_unreachable"
# A pool (VA and tag) out of compliance; the kind keeps its historical name.
POOL_SHORT = "out_of_compliance"
ENTITLEMENT_EXPIRING = "entitlement_expiring"
AUTHORIZATION_EXPIRED = "authorization_expired"
BACKUP_FAILED = "backup_failed"
REQUEST_PENDING = "request_pending"
# Someone tried to re-register a device with a token of another VA or account (refused).
DEVICE_TAKEOVER = "device_takeover_refused"
CLOCK_JUMP = "clock_jump"
STORAGE_UNAVAILABLE = "storage_unavailable"
KINDS = (SYNC_OVERDUE, CENTRAL_UNREACHABLE, POOL_SHORT, ENTITLEMENT_EXPIRING,
         AUTHORIZATION_EXPIRED, BACKUP_FAILED, REQUEST_PENDING, DEVICE_TAKEOVER, CLOCK_JUMP,
         STORAGE_UNAVAILABLE)

INFO, WARNING, CRITICAL = "info", "warning", "critical"
SEVERITIES = (INFO, WARNING, CRITICAL)  # in rising order
# A new channel takes notices too (licenses ending, requests waiting for an approver): info
# alerts are few, and an operator who wants problems only raises the channel's floor.
DEFAULT_MIN_SEVERITY = INFO
DEFAULT_SEVERITY = {SYNC_OVERDUE: CRITICAL, CENTRAL_UNREACHABLE: WARNING,
                    POOL_SHORT: WARNING, ENTITLEMENT_EXPIRING: INFO,
                    AUTHORIZATION_EXPIRED: WARNING, BACKUP_FAILED: WARNING,
                    REQUEST_PENDING: INFO, DEVICE_TAKEOVER: CRITICAL, CLOCK_JUMP: CRITICAL,
                    STORAGE_UNAVAILABLE: CRITICAL}

EMAIL, SYSLOG, WEBHOOK = "email", "syslog", "webhook"
CHANNEL_KINDS = (EMAIL, SYSLOG, WEBHOOK)

PENDING, SENT, FAILED = "pending", "sent", "failed"
DELIVERY_STATES = (PENDING, SENT, FAILED)


class Alert(Base):
    """One condition, raised once and updated while it lasts; cleared when it no longer holds."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    # What the alert is about, e.g. "entitlement_expiring:<line>"; one open alert per key.
    key: Mapped[str] = mapped_column(String(300), unique=True)
    kind: Mapped[str] = mapped_column(String(40), index=True)
    severity: Mapped[str] = mapped_column(String(16), server_default=WARNING)
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"),
                                                   index=True)
    message: Mapped[str] = mapped_column(Text)
    raised_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    cleared_at: Mapped[datetime | None]


class AlertChannel(Base):
    """Where an account's alerts (or, with no account, every alert) of a minimum severity go."""

    __tablename__ = "alert_channels"
    __table_args__ = (
        UniqueConstraint("account_id", "name"),
        CheckConstraint("kind IN ('email','syslog','webhook')", name="kind"),
        CheckConstraint("min_severity IN ('info','warning','critical')", name="min_severity"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # None: an appliance channel, receiving the alerts of every account and of none.
    account_id: Mapped[int | None] = mapped_column(ForeignKey("accounts.id", ondelete="CASCADE"),
                                                   index=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))
    # Email: comma-separated addresses; webhook: URL; syslog: udp://host:port or a socket path.
    target: Mapped[str] = mapped_column(Text)
    min_severity: Mapped[str] = mapped_column(String(16))
    # One delivery per alert key within this many hours; repeats inside it are only counted.
    dedupe_hours: Mapped[int] = mapped_column(default=24)
    # The webhook's HMAC key, sealed like registration tokens; None for other kinds.
    sealed_secret: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]


class AlertDelivery(Base):
    """The outbox: one alert to one channel, retried with backoff until sent or failed."""

    __tablename__ = "alert_deliveries"
    __table_args__ = (
        CheckConstraint("state IN ('pending','sent','failed')", name="state"),
        Index("ix_alert_deliveries_due", "state", "next_attempt_at"),
        Index("ix_alert_deliveries_dedupe", "channel_id", "alert_key", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"), index=True)
    channel_id: Mapped[int] = mapped_column(ForeignKey("alert_channels.id", ondelete="CASCADE"))
    alert_key: Mapped[str] = mapped_column(String(300))
    # What was raised, as it was when queued: a later refresh of the alert does not rewrite it.
    severity: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime]
    last_error: Mapped[str] = mapped_column(Text, default="")
    # Raisings of the same alert within the dedupe window that this delivery stood for.
    repeats: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]

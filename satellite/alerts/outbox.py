"""The delivery outbox: queueing an alert for its channels, and each delivery's fate.

The dedupe rule, in one place: per channel, an alert key is queued at most once per the
channel's `dedupe_hours`. Raising it again within that window (an open alert refreshed by the
hourly check, or one that cleared and came back) only counts a repeat on the last delivery;
an alert still open after the window is queued again, as a reminder. A higher severity
reaching a channel that the lower one did not is a first delivery there.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from satellite.alerts.models import (
    DELIVERY_STATES,
    FAILED,
    PENDING,
    SENT,
    SEVERITIES,
    Alert,
    AlertChannel,
    AlertDelivery,
)
from satellite.backoff import backoff_delay

# Retries of one delivery are never further apart than this.
MAX_RETRY_SECONDS = 3600.0


def severity_rank(severity: str) -> int:
    return SEVERITIES.index(severity)


def enqueue(session: Session, alert: Alert, at: datetime) -> list[AlertDelivery]:
    """Queue the alert for every channel that takes it, inside the caller's transaction."""
    rank = severity_rank(alert.severity)
    wanted = [s for s in SEVERITIES if severity_rank(s) <= rank]
    query = select(AlertChannel).where(AlertChannel.min_severity.in_(wanted))
    if alert.account_id is None:
        query = query.where(AlertChannel.account_id.is_(None))
    else:
        query = query.where(or_(AlertChannel.account_id.is_(None),
                                AlertChannel.account_id == alert.account_id))
    queued: list[AlertDelivery] = []
    for channel in session.scalars(query.order_by(AlertChannel.id)):
        last = session.scalar(
            select(AlertDelivery)
            .where(AlertDelivery.channel_id == channel.id, AlertDelivery.alert_key == alert.key)
            .order_by(AlertDelivery.created_at.desc(), AlertDelivery.id.desc()).limit(1))
        if last is not None and at - last.created_at < timedelta(hours=channel.dedupe_hours):
            last.repeats += 1
            continue
        if alert.id is None:
            session.flush()
        delivery = AlertDelivery(alert_id=alert.id, channel_id=channel.id, alert_key=alert.key,
                                 severity=alert.severity, message=alert.message, state=PENDING,
                                 attempts=0, next_attempt_at=at, last_error="", repeats=0,
                                 created_at=at, finished_at=None)
        session.add(delivery)
        queued.append(delivery)
    return queued


def due(session: Session, now: datetime, limit: int) -> list[AlertDelivery]:
    return list(session.scalars(
        select(AlertDelivery)
        .where(AlertDelivery.state == PENDING, AlertDelivery.next_attempt_at <= now)
        .order_by(AlertDelivery.next_attempt_at, AlertDelivery.id).limit(limit)))


def record_success(delivery: AlertDelivery, now: datetime) -> None:
    delivery.attempts += 1
    delivery.state, delivery.last_error, delivery.finished_at = SENT, "", now


def record_failure(delivery: AlertDelivery, error: str, now: datetime, *, base_seconds: float,
                   max_attempts: int, rng: Callable[[], float]) -> bool:
    """Count the failed attempt and schedule the next one. Returns True when it was the last."""
    delivery.attempts += 1
    delivery.last_error = error[:1000]
    if delivery.attempts >= max_attempts:
        delivery.state, delivery.finished_at = FAILED, now
        return True
    delay = backoff_delay(base_seconds, delivery.attempts, MAX_RETRY_SECONDS, rng)
    delivery.next_attempt_at = now + timedelta(seconds=delay)
    return False


def requeue(delivery: AlertDelivery, now: datetime) -> None:
    """Give a failed delivery a fresh set of attempts, starting now."""
    delivery.state, delivery.attempts, delivery.next_attempt_at = PENDING, 0, now
    delivery.finished_at = None


def count_by_state(session: Session) -> dict[str, int]:
    """Deliveries per state (every state present, zero when none)."""
    counts = dict.fromkeys(DELIVERY_STATES, 0)
    for state, n in session.execute(select(AlertDelivery.state, func.count())
                                    .group_by(AlertDelivery.state)):
        counts[state] = n
    return counts

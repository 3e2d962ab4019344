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

from sqlalchemy import func, select
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


def channels(session: Session) -> list[AlertChannel]:
    """Every channel, for queueing many alerts with one read (see enqueue)."""
    return list(session.scalars(select(AlertChannel).order_by(AlertChannel.id)))


def takes(channel: AlertChannel, alert: Alert) -> bool:
    """Whether the channel receives the alert: its severity is high enough, and the channel
    is the appliance's or the alert's account's."""
    return (severity_rank(alert.severity) >= severity_rank(channel.min_severity)
            and (channel.account_id is None or channel.account_id == alert.account_id))


def enqueue(session: Session, alert: Alert, at: datetime,
            every_channel: list[AlertChannel] | None = None) -> list[AlertDelivery]:
    """Queue the alert for every channel that takes it, inside the caller's transaction.

    `every_channel` is what `channels` returns, when the caller queues many alerts."""
    if every_channel is None:
        every_channel = channels(session)
    queued: list[AlertDelivery] = []
    for channel in (c for c in every_channel if takes(c, alert)):
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

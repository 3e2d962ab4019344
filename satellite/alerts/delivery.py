"""Sending what the outbox holds: the scheduled job, and a channel test.

A send happens outside any transaction (a slow relay never holds the database); its outcome
is then recorded, with its audit event, in one. Delivery is at least once: a receiver that
must not see a repeat keys on the delivery id (X-Satellite-Delivery, the email body).
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from satellite.accounts.models import Account
from satellite.actor import Actor
from satellite.alerts import outbox
from satellite.alerts.channels import get_channel, unseal_secret
from satellite.alerts.models import PENDING, Alert, AlertChannel, AlertDelivery
from satellite.alerts.senders import DeliveryFailed, Notice, send
from satellite.audit.service import record
from satellite.config import Settings
from satellite.errors import SatelliteError
from satellite.state import get_state
from satellite.tokens.secrets import TokenSealer
from satellite.uow import Database

log = logging.getLogger(__name__)

SYSTEM = Actor.system("alerts")
BATCH = 100


@dataclass(frozen=True)
class _Outgoing:
    delivery_id: int
    channel_name: str
    account_id: int | None
    kind: str
    target: str
    secret: str | None
    notice: Notice
    # Why it cannot be sent at all (its secret does not open), else "".
    problem: str = ""


@dataclass
class DeliveryRun:
    sent: int = 0
    retrying: int = 0
    failed: int = 0


def _satellite_id(db: Database) -> str:
    with db.reader() as uow:
        return get_state(uow.session, "satellite_id") or ""


def _secret(sealer: TokenSealer, channel: AlertChannel) -> tuple[str | None, str]:
    try:
        return unseal_secret(sealer, channel), ""
    except SatelliteError as exc:
        return None, exc.message


def _collect(db: Database, now: datetime, sealer: TokenSealer, satellite_id: str,
             limit: int) -> list[_Outgoing]:
    found: list[_Outgoing] = []
    with db.reader() as uow:
        s = uow.session
        rows = s.execute(
            select(AlertDelivery, AlertChannel, Alert, Account.domain)
            .join(AlertChannel, AlertChannel.id == AlertDelivery.channel_id)
            .join(Alert, Alert.id == AlertDelivery.alert_id)
            .outerjoin(Account, Account.id == Alert.account_id)
            .where(AlertDelivery.id.in_([d.id for d in outbox.due(s, now, limit)]))
            .order_by(AlertDelivery.next_attempt_at, AlertDelivery.id))
        for delivery, channel, alert, domain in rows:
            notice = Notice(alert.kind, delivery.severity, delivery.message, alert.key, domain,
                            alert.raised_at.isoformat(), satellite_id, alert.id, delivery.id,
                            delivery.attempts + 1)
            secret, problem = _secret(sealer, channel)
            found.append(_Outgoing(delivery.id, channel.name, channel.account_id, channel.kind,
                                   channel.target, secret, notice, problem))
    return found


def deliver_due(db: Database, settings: Settings, *, rng: Callable[[], float] = random.random,
                limit: int = BATCH) -> DeliveryRun:
    """Attempt every delivery that is due; record each outcome. Returns the counts."""
    run = DeliveryRun()
    now = db.clock.now()
    sealer = TokenSealer.for_data_dir(settings.data_dir)
    for item in _collect(db, now, sealer, _satellite_id(db), limit):
        error = item.problem or _attempt(item, settings, now)
        outcome = _record(db, settings, item, error, rng)
        if outcome == "sent":
            run.sent += 1
        elif outcome == "failed":
            run.failed += 1
        elif outcome == "retrying":
            run.retrying += 1
    return run


def _attempt(item: _Outgoing, settings: Settings, now: datetime) -> str:
    """Send once; the reason it failed, or "" when it went through."""
    try:
        send(item.kind, item.target, item.secret, item.notice, settings, int(now.timestamp()))
    except SatelliteError as exc:
        return exc.message
    except Exception as exc:
        # A bug must cost this delivery an attempt, not stall the whole outbox.
        log.exception("alert delivery through channel %s raised", item.channel_name)
        return f"internal error: {type(exc).__name__}"
    return ""


def _record(db: Database, settings: Settings, item: _Outgoing, error: str,
            rng: Callable[[], float]) -> str:
    with db.uow() as uow:
        s, now = uow.session, uow.clock.now()
        delivery = s.scalar(select(AlertDelivery).where(AlertDelivery.id == item.delivery_id)
                            .with_for_update())
        if delivery is None or delivery.state != PENDING:
            return "gone"  # its channel was removed, or it was handled meanwhile
        details = {"delivery": delivery.id, "alert_key": delivery.alert_key,
                   "severity": delivery.severity, "channel_kind": item.kind}
        target = f"alert-channel:{item.channel_name}"
        if not error:
            outbox.record_success(delivery, now)
            record(uow, SYSTEM, "alert.delivered", target, account_id=item.account_id,
                   details=details | {"attempts": delivery.attempts})
            outcome = "sent"
        elif outbox.record_failure(delivery, error, now, base_seconds=settings.alert_retry_seconds,
                                   max_attempts=settings.alert_max_attempts, rng=rng):
            record(uow, SYSTEM, "alert.delivery_failed", target, account_id=item.account_id,
                   details=details | {"attempts": delivery.attempts, "error": error})
            log.error("alert delivery %d to channel %s failed for good after %d attempts: %s",
                      delivery.id, item.channel_name, delivery.attempts, error)
            outcome = "failed"
        else:
            log.warning("alert delivery %d to channel %s failed (attempt %d, next at %s): %s",
                        delivery.id, item.channel_name, delivery.attempts,
                        delivery.next_attempt_at.isoformat(), error)
            outcome = "retrying"
        uow.commit()
        return outcome


def send_test(db: Database, settings: Settings, actor: Actor, account_ref: str | None,
                 name: str) -> None:
    """Send a test notice through the channel now, and audit the outcome. Raises
    DeliveryFailed (with the transport's reason), NotFound, PermissionDenied."""
    sealer = TokenSealer.for_data_dir(settings.data_dir)
    now = db.clock.now()
    satellite_id = _satellite_id(db)
    with db.reader() as uow:
        channel, domain = get_channel(uow.session, actor, account_ref, name)
        notice = Notice("test", channel.min_severity, f"Test of alert channel {name!r}, sent "
                        f"by {actor.label}.", f"test:{name}", domain, now.isoformat(),
                        satellite_id)
        secret, problem = _secret(sealer, channel)
        item = _Outgoing(0, name, channel.account_id, channel.kind, channel.target, secret,
                         notice, problem)
    error = item.problem or _attempt(item, settings, now)
    kind, account_id = item.kind, item.account_id
    with db.uow() as uow:
        record(uow, actor, "alert.channel_test", f"alert-channel:{name}", account_id=account_id,
               details={"kind": kind, "ok": not error, "error": error})
        uow.commit()
    if error:
        raise DeliveryFailed(f"alert channel {name!r}: {error}")

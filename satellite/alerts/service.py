"""Raising, clearing, evaluating and listing alerts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from satellite.accounts.models import Account, VirtualAccount
from satellite.accounts.service import account_for
from satellite.actor import Actor
from satellite.alerts.models import (
    AUTHORIZATION_EXPIRED,
    CENTRAL_UNREACHABLE,
    DEFAULT_SEVERITY,
    ENTITLEMENT_EXPIRING,
    SYNC_OVERDUE,
    Alert,
)
from satellite.alerts.outbox import channels, enqueue
from satellite.clock import utc_text
from satellite.db import in_chunks
from satellite.devices.models import AUTHORIZATION_EXPIRED as DEVICE_AUTHORIZATION_EXPIRED
from satellite.devices.models import Device
from satellite.licenses.models import LicenseLine
from satellite.permissions.policy import visible_account_ids
from satellite.state import get_state

# Notices say "within N days" for the first of these steps a line's end falls in; the last
# step is the `expiry_notice_days` setting.
EXPIRY_STEPS = (30, 60, 90)


@dataclass(frozen=True)
class Raise:
    """One alert to raise (see raise_alert)."""

    key: str
    kind: str
    message: str
    account_id: int | None = None
    severity: str | None = None


def raise_alert(session: Session, key: str, kind: str, message: str, at: datetime,
                account_id: int | None = None, severity: str | None = None) -> Alert:
    """Open the alert for `key`, or refresh its message if it is open already; queue it for
    delivery in the same transaction (see alerts.outbox for when a repeat is sent)."""
    return raise_alerts(session, [Raise(key, kind, message, account_id, severity)], at)[0]


def raise_alerts(session: Session, wanted: Sequence[Raise], at: datetime) -> list[Alert]:
    """raise_alert for many keys at once: their alerts and the channels are read in a few
    queries, whatever their number."""
    known: dict[str, Alert] = {}
    for chunk in in_chunks(sorted({w.key for w in wanted})):
        known.update((a.key, a) for a in session.scalars(select(Alert).where(Alert.key.in_(chunk))))
    every_channel = channels(session) if wanted else []
    raised = []
    for w in wanted:
        severity = w.severity or DEFAULT_SEVERITY[w.kind]
        alert = known.get(w.key)
        if alert is None:
            alert = Alert(key=w.key, kind=w.kind, severity=severity, account_id=w.account_id,
                          message=w.message, raised_at=at, updated_at=at, cleared_at=None)
            session.add(alert)
            known[w.key] = alert
        else:
            if alert.cleared_at is not None:
                alert.raised_at, alert.cleared_at = at, None
            alert.message, alert.updated_at, alert.account_id = w.message, at, w.account_id
            alert.severity = severity
        enqueue(session, alert, at, every_channel)
        raised.append(alert)
    return raised


def clear_alert(session: Session, key: str, at: datetime) -> None:
    alert = session.scalar(select(Alert).where(Alert.key == key, Alert.cleared_at.is_(None)))
    if alert is not None:
        alert.cleared_at = alert.updated_at = at


def unreachable(session: Session, failures: int, threshold: int, reason: str,
                at: datetime) -> None:
    """Raise the alert once `threshold` attempts in a row failed; clear it on success (0)."""
    if failures == 0:
        clear_alert(session, CENTRAL_UNREACHABLE, at)
    elif failures >= threshold:
        raise_alert(session, CENTRAL_UNREACHABLE, CENTRAL_UNREACHABLE,
                    f"Central could not be reached in the last {failures} attempts: {reason}", at)


def expiry_steps(notice_days: int) -> tuple[int, ...]:
    """The "within N days" steps of a notice window of `notice_days`."""
    return (*(step for step in EXPIRY_STEPS if step < notice_days), notice_days)


def evaluate(session: Session, now: datetime, overdue_days: int,
             expiry_days: int = EXPIRY_STEPS[-1]) -> None:
    """Re-check the alerts that time (or a missed write) can change: sync overdue, entitlements
    ending within `expiry_days`, devices whose authorization expired, pools out of compliance."""
    # Imported here: licenses.compliance raises its alerts through this module.
    from satellite.licenses.compliance import check_all

    check_all(session, now)
    _sync_overdue(session, now, overdue_days)
    _expiring(session, now.date(), now, expiry_days)
    _authorization_expired(session, now)


def _authorization_expired(session: Session, now: datetime) -> None:
    rows = session.execute(
        select(Device.id, Device.pid, Device.serial, Device.hostname, VirtualAccount.name,
               Account.domain, Account.id)
        .join(VirtualAccount, VirtualAccount.id == Device.va_id)
        .join(Account, Account.id == VirtualAccount.account_id)
        .where(Device.status == DEVICE_AUTHORIZATION_EXPIRED))
    wanted: set[str] = set()
    for device_id, pid, serial, hostname, va, domain, account_id in rows:
        key = f"{AUTHORIZATION_EXPIRED}:{device_id}"
        wanted.add(key)
        name = f" ({hostname})" if hostname else ""
        raise_alert(session, key, AUTHORIZATION_EXPIRED,
                    f"device PID:{pid},SN:{serial}{name} in {domain}/{va} has not called in "
                    "and its authorization expired", now, account_id)
    for alert in session.scalars(select(Alert).where(Alert.kind == AUTHORIZATION_EXPIRED,
                                                     Alert.cleared_at.is_(None))):
        if alert.key not in wanted:
            alert.cleared_at = alert.updated_at = now


def _sync_overdue(session: Session, now: datetime, overdue_days: int) -> None:
    last = get_state(session, "sync.last_import_at") or get_state(session, "created_at")
    if last is None:
        return
    since = now - datetime.fromisoformat(last)
    if since > timedelta(days=overdue_days):
        raise_alert(session, SYNC_OVERDUE, SYNC_OVERDUE,
                    f"no response from Central has been applied for {since.days} days "
                    f"(allowed: {overdue_days}); export usage and import Central's answer", now)
    else:
        clear_alert(session, SYNC_OVERDUE, now)


def _expiring(session: Session, today: date, now: datetime, notice_days: int) -> None:
    steps = expiry_steps(notice_days)
    horizon = today + timedelta(days=notice_days)
    rows = session.execute(
        select(LicenseLine.origin_id, LicenseLine.tag, LicenseLine.end_date,
               LicenseLine.quantity, VirtualAccount.name, Account.domain, Account.id)
        .join(VirtualAccount, VirtualAccount.id == LicenseLine.va_id)
        .join(Account, Account.id == VirtualAccount.account_id)
        .where(LicenseLine.end_date.is_not(None), LicenseLine.end_date >= today,
               LicenseLine.end_date <= horizon))
    raised: list[Raise] = []
    for origin, tag, end, quantity, va, domain, account_id in rows:
        assert end is not None
        days = (end - today).days
        window = next(w for w in steps if days <= w)
        raised.append(Raise(f"{ENTITLEMENT_EXPIRING}:{origin}:{va}:{domain}", ENTITLEMENT_EXPIRING,
                            f"{quantity} x {tag} in {domain}/{va} expire on {end.isoformat()} "
                            f"(within {window} days)", account_id))
    raise_alerts(session, raised, now)
    wanted = {r.key for r in raised}
    for alert in session.scalars(select(Alert).where(Alert.kind == ENTITLEMENT_EXPIRING,
                                                     Alert.cleared_at.is_(None))):
        if alert.key not in wanted:
            alert.cleared_at = alert.updated_at = now


def list_alerts(session: Session, actor: Actor, account: str | None = None,
                include_cleared: bool = False, *, appliance_wide: bool = False,
                limit: int | None = None) -> list[Alert]:
    """Open alerts (newest first) the actor may see, optionally of one account (name or
    domain); `appliance_wide` adds the alerts of no account (sync overdue, Central
    unreachable) to one account's. Without an account, a caller other than a system
    administrator sees the alerts of the accounts it holds a role in. Raises NotFound."""
    query = select(Alert).order_by(Alert.raised_at.desc(), Alert.id.desc())
    if not include_cleared:
        query = query.where(Alert.cleared_at.is_(None))
    if account is not None:
        acc = account_for(session, actor, account, "alert.view")
        mine = Alert.account_id == acc.id
        query = query.where(mine | Alert.account_id.is_(None) if appliance_wide else mine)
    else:
        visible = visible_account_ids(session, actor)
        if visible is not None:
            query = query.where(Alert.account_id.in_(sorted(visible)))
    return list(session.scalars(query.limit(limit)))


def to_json(alert: Alert) -> dict[str, object]:
    return {"id": alert.id, "kind": alert.kind, "severity": alert.severity, "key": alert.key,
            "message": alert.message,
            "account_id": alert.account_id, "raised_at": utc_text(alert.raised_at),
            "updated_at": utc_text(alert.updated_at),
            "cleared_at": utc_text(alert.cleared_at) or None}

"""Delivery channels and their outbox, as operators manage and read them.

An account's channels receive that account's alerts; an appliance channel (no account, for
system administrators) receives every alert, including those of no account (sync overdue,
Central unreachable).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from satellite.accounts.models import Account
from satellite.accounts.service import account_for
from satellite.actor import Actor
from satellite.alerts.models import (
    CHANNEL_KINDS,
    DEFAULT_MIN_SEVERITY,
    DELIVERY_STATES,
    FAILED,
    SEVERITIES,
    WEBHOOK,
    AlertChannel,
    AlertDelivery,
)
from satellite.alerts.outbox import requeue
from satellite.alerts.senders import check_target
from satellite.audit.service import record
from satellite.clock import utc_text
from satellite.errors import Conflict, InvalidInput, NotFound, VerificationFailed
from satellite.permissions.policy import require
from satellite.tokens.secrets import TokenSealer
from satellite.uow import UnitOfWork

MAX_DEDUPE_HOURS = 24 * 30


@dataclass(frozen=True)
class ChannelView:
    id: int
    account: str | None
    name: str
    kind: str
    target: str
    min_severity: str
    dedupe_hours: int
    created_by: str
    created_at: datetime
    signed: bool
    # Shown once, when a webhook channel is added.
    secret: str | None = None

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {
            "id": self.id, "account": self.account, "name": self.name, "kind": self.kind,
            "target": self.target, "min_severity": self.min_severity,
            "dedupe_hours": self.dedupe_hours, "created_by": self.created_by,
            "created_at": utc_text(self.created_at), "signed": self.signed}
        if self.secret is not None:
            data["secret"] = self.secret
        return data


@dataclass(frozen=True)
class DeliveryView:
    id: int
    channel: str
    account: str | None
    kind: str
    alert_key: str
    severity: str
    message: str
    state: str
    attempts: int
    next_attempt_at: datetime
    last_error: str
    repeats: int
    created_at: datetime
    finished_at: datetime | None

    def to_json(self) -> dict[str, object]:
        return {"id": self.id, "channel": self.channel, "account": self.account,
                "kind": self.kind, "alert_key": self.alert_key, "severity": self.severity,
                "message": self.message, "state": self.state, "attempts": self.attempts,
                "next_attempt_at": utc_text(self.next_attempt_at),
                "last_error": self.last_error, "repeats": self.repeats,
                "created_at": utc_text(self.created_at),
                "finished_at": (utc_text(self.finished_at) or None)}


def seal_context(channel: AlertChannel) -> str:
    return f"alert-channel:{channel.account_id or ''}:{channel.name}"


def unseal_secret(sealer: TokenSealer, channel: AlertChannel) -> str | None:
    """The webhook's HMAC key. Raises VerificationFailed if this data dir cannot open it."""
    if channel.sealed_secret is None:
        return None
    try:
        return sealer.unseal(channel.sealed_secret, seal_context(channel))
    except VerificationFailed:
        raise VerificationFailed(f"the secret of alert channel {channel.name!r} does not open "
                                 "with this data dir's key") from None


def _scope(session: Session, actor: Actor, account_ref: str | None) -> Account | None:
    """The account named, if the actor may manage its channels; None for the appliance's."""
    if account_ref is None:
        require(session, actor, "alert.manage")
        return None
    return account_for(session, actor, account_ref, "alert.manage")


def _view(channel: AlertChannel, domain: str | None, secret: str | None = None) -> ChannelView:
    return ChannelView(channel.id, domain, channel.name, channel.kind, channel.target,
                       channel.min_severity, channel.dedupe_hours, channel.created_by,
                       channel.created_at, channel.sealed_secret is not None, secret)


def _find(session: Session, account: Account | None, name: str) -> AlertChannel:
    owner = (AlertChannel.account_id == account.id if account is not None
             else AlertChannel.account_id.is_(None))
    channel = session.scalar(select(AlertChannel).where(owner, AlertChannel.name == name))
    if channel is None:
        where = f"account {account.domain}" if account else "the appliance"
        raise NotFound(f"no alert channel {name!r} for {where}")
    return channel


def add_channel(uow: UnitOfWork, actor: Actor, sealer: TokenSealer, account_ref: str | None,
                name: str, kind: str, target: str, *, min_severity: str = DEFAULT_MIN_SEVERITY,
                dedupe_hours: int = 24, secret: str | None = None,
                allow_local: bool = False) -> ChannelView:
    """Add a channel. A webhook gets an HMAC key (`secret`, else a new one), shown once.
    Webhook and syslog hosts on loopback or link-local addresses only with `allow_local`
    (the alert_allow_local_targets setting).

    Raises InvalidInput, Conflict (name taken), NotFound, PermissionDenied.
    """
    session = uow.session
    account = _scope(session, actor, account_ref)
    name = name.strip()
    if not name or len(name) > 100 or any(not c.isprintable() for c in name):
        raise InvalidInput("a channel name is 1 to 100 printable characters")
    if kind not in CHANNEL_KINDS:
        raise InvalidInput(f"unknown channel kind {kind!r} ({', '.join(CHANNEL_KINDS)})")
    if min_severity not in SEVERITIES:
        raise InvalidInput(f"unknown severity {min_severity!r} ({', '.join(SEVERITIES)})")
    if not 0 <= dedupe_hours <= MAX_DEDUPE_HOURS:
        raise InvalidInput(f"dedupe hours must be between 0 and {MAX_DEDUPE_HOURS}")
    if secret is not None and kind != WEBHOOK:
        raise InvalidInput("only a webhook channel has a secret")
    if secret is not None and len(secret) < 16:
        raise InvalidInput("a webhook secret must be at least 16 characters")
    target = check_target(kind, target, allow_local)
    try:
        _find(session, account, name)
    except NotFound:
        pass
    else:
        raise Conflict(f"alert channel {name!r} exists already")
    channel = AlertChannel(account_id=account.id if account else None, name=name, kind=kind,
                           target=target, min_severity=min_severity, dedupe_hours=dedupe_hours,
                           sealed_secret=None, created_by=actor.label,
                           created_at=uow.clock.now())
    if kind == WEBHOOK:
        secret = secret or secrets.token_urlsafe(32)
        channel.sealed_secret = sealer.seal(secret, seal_context(channel))
    session.add(channel)
    session.flush()
    record(uow, actor, "alert.channel_add", f"alert-channel:{name}",
           account_id=channel.account_id,
           details={"kind": kind, "target": target, "min_severity": min_severity,
                    "dedupe_hours": dedupe_hours, "signed": channel.sealed_secret is not None})
    return _view(channel, account.domain if account else None, secret)


def list_channels(session: Session, actor: Actor, account_ref: str | None) -> list[ChannelView]:
    """One account's channels; without an account, every channel (system administrators)."""
    account = _scope(session, actor, account_ref)
    query = select(AlertChannel, Account.domain).outerjoin(
        Account, Account.id == AlertChannel.account_id).order_by(Account.domain, AlertChannel.name)
    if account is not None:
        query = query.where(AlertChannel.account_id == account.id)
    return [_view(channel, domain) for channel, domain in session.execute(query)]


def get_channel(session: Session, actor: Actor, account_ref: str | None,
                name: str) -> tuple[AlertChannel, str | None]:
    """The channel and its account's domain. Raises NotFound, PermissionDenied."""
    account = _scope(session, actor, account_ref)
    return _find(session, account, name), account.domain if account else None


def remove_channel(uow: UnitOfWork, actor: Actor, account_ref: str | None, name: str) -> None:
    """Remove a channel and its outbox rows (its audit events stay)."""
    channel, _ = get_channel(uow.session, actor, account_ref, name)
    record(uow, actor, "alert.channel_remove", f"alert-channel:{name}",
           account_id=channel.account_id, details={"kind": channel.kind})
    uow.session.delete(channel)


def list_deliveries(session: Session, actor: Actor, account_ref: str | None, *,
                    state: str | None = None, limit: int = 100) -> list[DeliveryView]:
    """Newest first: one account's channels' deliveries, or all (system administrators)."""
    if state is not None and state not in DELIVERY_STATES:
        raise InvalidInput(f"unknown delivery state {state!r} ({', '.join(DELIVERY_STATES)})")
    account = _scope(session, actor, account_ref)
    query = (select(AlertDelivery, AlertChannel, Account.domain)
             .join(AlertChannel, AlertChannel.id == AlertDelivery.channel_id)
             .outerjoin(Account, Account.id == AlertChannel.account_id)
             .order_by(AlertDelivery.id.desc()).limit(limit))
    if account is not None:
        query = query.where(AlertChannel.account_id == account.id)
    if state is not None:
        query = query.where(AlertDelivery.state == state)
    return [DeliveryView(d.id, c.name, domain, c.kind, d.alert_key, d.severity, d.message,
                         d.state, d.attempts, d.next_attempt_at, d.last_error, d.repeats,
                         d.created_at, d.finished_at)
            for d, c, domain in session.execute(query)]


def retry_delivery(uow: UnitOfWork, actor: Actor, delivery_id: int) -> None:
    """Queue a failed delivery again with a fresh set of attempts. Raises NotFound, Conflict."""
    session = uow.session
    delivery = session.get(AlertDelivery, delivery_id)
    channel = session.get(AlertChannel, delivery.channel_id) if delivery else None
    if delivery is None or channel is None:
        raise NotFound(f"no alert delivery {delivery_id}")
    require(session, actor, "alert.manage", account_id=channel.account_id,
            not_found=f"no alert delivery {delivery_id}")
    if delivery.state != FAILED:
        raise Conflict(f"alert delivery {delivery_id} is {delivery.state}, not failed")
    requeue(delivery, uow.clock.now())
    record(uow, actor, "alert.delivery_retry", f"alert-channel:{channel.name}",
           account_id=channel.account_id,
           details={"delivery": delivery.id, "alert_key": delivery.alert_key})



def delivery_states(session: Session, alert_ids: list[int],
                    account_id: int) -> dict[int, list[str]]:
    """Per alert, "<channel> (<kind>): <state>" of its latest delivery to each of the
    account's channels, for the alerts page."""
    found: dict[int, dict[int, str]] = {}
    if not alert_ids:
        return {}
    rows = session.execute(
        select(AlertDelivery.alert_id, AlertDelivery.channel_id, AlertDelivery.state,
               AlertDelivery.attempts, AlertChannel.name, AlertChannel.kind)
        .join(AlertChannel, AlertChannel.id == AlertDelivery.channel_id)
        .where(AlertDelivery.alert_id.in_(alert_ids), AlertChannel.account_id == account_id)
        .order_by(AlertDelivery.id))
    for alert_id, channel_id, state, attempts, name, kind in rows:
        retrying = f" (attempt {attempts} failed)" if state == "pending" and attempts else ""
        found.setdefault(alert_id, {})[channel_id] = f"{name} ({kind}): {state}{retrying}"
    return {alert_id: list(states.values()) for alert_id, states in found.items()}

"""Aging with a fixed clock: silence expires the authorization, certificate expiry deregisters."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from satellite.actor import Actor
from satellite.alerts.service import evaluate, list_alerts
from satellite.audit.models import AuditEvent
from satellite.clock import FixedClock
from satellite.config import Settings
from satellite.devices.aging import age_devices
from satellite.devices.service import show_device
from satellite.licenses.counters import counter
from satellite.tokens.secrets import TokenSealer
from satellite.uow import Database
from tests.devices.helpers import TAG, FlaskTransport, Site, device, make_token


def _age(db: Database, settings: Settings, clock: FixedClock, dry_run: bool = False) -> list[str]:
    with db.uow() as uow:
        changes = age_devices(uow, settings, clock.now(), dry_run=dry_run)
        uow.commit()
    return [f"{c.udi} {c.after}" for c in changes]


def _state(db: Database, site: Site, clock: FixedClock) -> tuple[str, int]:
    with db.reader() as uow:
        shown = show_device(uow.session, Actor.local_operator(), "AGE1")
        return shown["status"], counter(uow.session, site.va_id, TAG, clock.now().date()).in_use


def _device_alerts(db: Database, clock: FixedClock) -> list[str]:
    with db.uow() as uow:
        evaluate(uow.session, clock.now(), overdue_days=10_000)
        uow.commit()
    with db.reader() as uow:
        return [a.message for a in list_alerts(uow.session, Actor.local_operator())
                if a.kind == "authorization_expired"]


def test_silence_expires_the_authorization_and_certificate_expiry_deregisters(
        db: Database, actor: Actor, sealer: TokenSealer, site: Site, clock: FixedClock,
        transport: FlaskTransport, settings: Settings) -> None:
    client = device(transport, clock)
    client.register(make_token(db, actor, sealer), "C9300-24T", "AGE1")
    client.report({TAG: 2})
    assert _state(db, site, clock) == ("Authorized", 2)

    clock.advance(timedelta(days=90))
    assert _age(db, settings, clock) == []
    clock.advance(timedelta(days=1))
    assert _age(db, settings, clock, dry_run=True) == ["PID:C9300-24T,SN:AGE1 Authorization Expired"]
    assert _state(db, site, clock) == ("Authorized", 2)
    assert _age(db, settings, clock) == ["PID:C9300-24T,SN:AGE1 Authorization Expired"]
    assert _state(db, site, clock) == ("Authorization Expired", 2)
    assert _age(db, settings, clock) == []  # a transition happens once
    (alert,) = _device_alerts(db, clock)
    assert "PID:C9300-24T,SN:AGE1" in alert and "authorization expired" in alert

    clock.advance(timedelta(days=365 - 91))
    assert _age(db, settings, clock) == ["PID:C9300-24T,SN:AGE1 Deregistered"]
    assert _state(db, site, clock) == ("Deregistered", 0)
    assert _device_alerts(db, clock) == []

    with db.reader() as uow:
        events = [(e.action, json.loads(e.details).get("after")) for e in uow.session.scalars(
            select(AuditEvent).where(AuditEvent.action.like("device.%")).order_by(AuditEvent.id))]
    assert events == [("device.register", None), ("device.status", "Authorized"),
                      ("device.authorization_expired", "Authorization Expired"),
                      ("device.expire_certificate", "Deregistered")]


def test_a_device_that_calls_again_after_expiry_is_authorized_again(
        db: Database, actor: Actor, sealer: TokenSealer, site: Site, clock: FixedClock,
        transport: FlaskTransport, settings: Settings) -> None:
    client = device(transport, clock)
    client.register(make_token(db, actor, sealer), "C9300-24T", "AGE1")
    client.report({TAG: 1})
    clock.advance(timedelta(days=100))
    _age(db, settings, clock)
    assert client.report({TAG: 1})["status"] == "AUTHORIZED"
    assert _state(db, site, clock) == ("Authorized", 1)


def test_age_devices_cli_plans_with_dry_run_and_as_of(
        db: Database, actor: Actor, sealer: TokenSealer, site: Site, clock: FixedClock,
        transport: FlaskTransport, cli) -> None:  # type: ignore[no-untyped-def]
    client = device(transport, clock)
    client.register(make_token(db, actor, sealer), "C9300-24T", "AGE1")
    client.report({TAG: 1})
    plan = cli("maintenance", "age-devices", "--dry-run", "--as-of", "2027-06-01", "--json")
    assert plan.code == 0, plan.err
    assert [t["after"] for t in json.loads(plan.out)["transitions"]] == ["Deregistered"]
    soon = cli("maintenance", "age-devices", "--dry-run", "--as-of", "2026-06-15")
    assert "Authorization Expired" in soon.out
    assert "1 devices would change" in soon.out
    future = cli("maintenance", "age-devices", "--as-of", "2099-01-01")
    assert future.code != 0
    assert "add --dry-run" in future.err
    assert _state(db, site, clock) == ("Authorized", 1)

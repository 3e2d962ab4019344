"""Notices reach channels by default: licenses ending (window a setting), requests to decide."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from satellite.access import requests
from satellite.accounts.service import create_va
from satellite.actor import Actor
from satellite.alerts.channels import add_channel
from satellite.alerts.models import Alert, AlertDelivery
from satellite.alerts.service import evaluate, expiry_steps
from satellite.clock import FixedClock
from satellite.config import Settings
from satellite.tokens.secrets import TokenSealer
from satellite.uow import Database
from satellite.users.service import create_user
from tests.licenses.helpers import ROUTER, add_line, va_ids


def _channel(db: Database, actor: Actor, settings: Settings, account: str | None,
             name: str) -> None:
    """A channel as an operator adds it: no severity chosen."""
    with db.uow() as uow:
        add_channel(uow, actor, TokenSealer.for_data_dir(settings.data_dir), account, name,
                    "email", "ops@acme.example")
        uow.commit()


def _queued(db: Database) -> list[tuple[str, str]]:
    """(alert key, message) of every delivery queued."""
    with db.reader() as uow:
        return [(d.alert_key, d.message) for d in uow.session.scalars(
            select(AlertDelivery).order_by(AlertDelivery.id))]


def _open(db: Database, kind: str) -> list[str]:
    with db.reader() as uow:
        return [a.message for a in uow.session.scalars(
            select(Alert).where(Alert.kind == kind, Alert.cleared_at.is_(None)))]


def test_the_steps_of_a_notice_window() -> None:
    assert expiry_steps(90) == (30, 60, 90)
    assert expiry_steps(45) == (30, 45)
    assert expiry_steps(120) == (30, 60, 90, 120)


@pytest.mark.parametrize("window", [90, 120])
def test_licenses_ending_reach_a_default_channel_within_the_window(
        db: Database, actor: Actor, settings: Settings, clock: FixedClock, acme: int,
        window: int) -> None:
    with db.uow() as uow:
        create_va(uow, actor, "Acme", "Lab")
        uow.commit()
    _channel(db, actor, settings, "Acme", "ops")
    today = clock.now().date()
    add_line(db, va_ids(db, "Acme")["Lab"], ROUTER, 4, "TERM", date(2026, 1, 1),
             today + timedelta(days=100))
    with db.uow() as uow:
        evaluate(uow.session, clock.now(), 30, expiry_days=window)
        uow.commit()
    if window == 90:
        assert _open(db, "entitlement_expiring") == [] and _queued(db) == []
        return
    [message] = _open(db, "entitlement_expiring")
    assert "(within 120 days)" in message
    assert [m for _k, m in _queued(db)] == [message]


def test_the_dashboard_speaks_of_the_same_window_as_the_alerts(
        db: Database, actor: Actor, settings: Settings, clock: FixedClock, acme: int) -> None:
    import dataclasses

    from satellite.web import create_app
    from tests.web.ui.conftest import Browser

    with db.uow() as uow:
        create_va(uow, actor, "Acme", "Lab")
        uow.commit()
    add_line(db, va_ids(db, "Acme")["Lab"], ROUTER, 4, "TERM", date(2026, 1, 1),
             clock.now().date() + timedelta(days=100))
    app = create_app(dataclasses.replace(settings, expiry_notice_days=120), db)
    browser = Browser(app.test_client())
    browser.sign_in()
    html = browser.get("/a/acme.example.com/")
    assert "Expiring within 120 days" in html and "router-advantage" in html.split(
        "Expiring within 120 days")[1].split("</section>")[0]


def test_approvers_are_told_of_pending_requests_until_they_decide(
        db: Database, actor: Actor, settings: Settings, acme: int) -> None:
    with db.uow() as uow:
        bob = create_user(uow, actor, "bob", "violet-kestrel-42-river")
        uow.commit()
    _channel(db, actor, settings, "Acme", "acme-admins")
    _channel(db, actor, settings, None, "appliance")
    as_bob = Actor("user", "bob", user_id=bob.id)
    with db.uow() as uow:
        asked = requests.request_access(uow, as_bob, "Acme", "account_user", "plant operator")
        new = requests.request_account(uow, as_bob, "Globex", "globex.example.com")
        uow.commit()
        asked_id, new_id = asked.id, new.id
    pending = _open(db, "request_pending")
    assert sorted(pending) == sorted([
        f"bob asks for the role account_user on acme.example.com (access request {asked_id}); "
        "approve or deny it under Access",
        f"bob asks for a new account 'Globex' (globex.example.com; account request {new_id}); "
        "approve or deny it under Access"])
    queued = _queued(db)
    # The access request reaches the account's channel and the appliance's; the request for
    # a new account (no parent account) the appliance's only.
    assert sorted(k for k, _m in queued) == sorted([
        f"request_pending:access:{asked_id}", f"request_pending:access:{asked_id}",
        f"request_pending:account:{new_id}"])
    with db.uow() as uow:
        requests.decide_access(uow, actor, asked_id, approve=True)
        requests.decide_account(uow, actor, new_id, approve=False)
        uow.commit()
    assert _open(db, "request_pending") == []

"""Finding 1: a registration token of another VA or account cannot take over a device by UDI."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import select

from satellite.accounts.service import create_account
from satellite.actor import Actor
from satellite.agent.client import DeviceClient, Refused
from satellite.alerts.models import DEVICE_TAKEOVER, Alert
from satellite.audit.models import AuditEvent
from satellite.clock import FixedClock
from satellite.config import Settings
from satellite.devices.authority import DeviceAuthority
from satellite.devices.models import Device
from satellite.tokens.models import RegistrationToken
from satellite.tokens.secrets import TokenSealer
from satellite.tokens.service import create_token
from satellite.uow import Database
from satellite.web import create_app
from tests.devices.fixtures import app, authority, sealer, site, transport
from tests.devices.helpers import TAG, FlaskTransport, Site, device, make_token

__all__ = ["app", "authority", "sealer", "site", "transport"]

PID, SN = "C9300-24T", "FOC1234X"


def _other_account_token(db: Database, actor: Actor, sealer: TokenSealer) -> str:
    with db.uow() as uow:
        create_account(uow, actor, "Evil", "evil.example.com")
        view = create_token(uow, actor, sealer, "Evil", "Default")
        uow.commit()
        return view.secret


def _device_row(db: Database) -> tuple[int, int, bytes, str, int]:
    with db.reader() as uow:
        d = uow.session.scalars(select(Device).where(Device.serial == SN)).one()
        return d.account_id, d.va_id, d.public_key, d.certificate_serial, d.registrations


def test_a_token_of_another_account_cannot_re_register_a_device(
        db: Database, actor: Actor, sealer: TokenSealer, site: Site, clock: FixedClock,
        transport: FlaskTransport) -> None:
    owner = device(transport, clock)
    owner.register(make_token(db, actor, sealer), PID, SN)
    owner.report({TAG: 2})
    before = _device_row(db)
    evil = _other_account_token(db, actor, sealer)

    with pytest.raises(Refused) as refused:
        device(transport, clock).register(evil, PID, SN)
    assert refused.value.status == 403
    assert _device_row(db) == before
    assert owner.report({TAG: 2})["status"] == "AUTHORIZED"  # the real device still speaks
    with db.reader() as uow:
        s = uow.session
        uses = s.scalars(select(RegistrationToken.uses).order_by(RegistrationToken.id)).all()
        assert uses == [1, 0]  # the refused attempt used nothing of the attacker's token
        actions = s.scalars(select(AuditEvent.action)).all()
        assert actions.count("device.reregister_refused") == 2  # in both accounts' trails
        alert = s.scalars(select(Alert).where(Alert.kind == DEVICE_TAKEOVER)).one()
        assert alert.account_id == before[0] and SN in alert.message


def test_a_token_of_another_va_of_the_account_needs_the_account_scope_setting(
        db: Database, actor: Actor, sealer: TokenSealer, site: Site, clock: FixedClock,
        settings: Settings, authority: DeviceAuthority, transport: FlaskTransport) -> None:
    device(transport, clock).register(make_token(db, actor, sealer), PID, SN)
    spare = make_token(db, actor, sealer, va="Spare")
    with pytest.raises(Refused) as refused:
        device(transport, clock).register(spare, PID, SN)
    assert refused.value.status == 403

    moves = create_app(dataclasses.replace(settings, device_reregister_scope="account"), db)
    with moves.test_client() as client:
        answer = DeviceClient(FlaskTransport(client), device(transport, clock).private_key,
                              now=clock.now).register(spare, PID, SN)
    assert answer["virtualAccount"] == "Spare"


def test_the_own_va_token_and_a_deregistered_device_may_be_registered_again(
        db: Database, actor: Actor, sealer: TokenSealer, site: Site, clock: FixedClock,
        transport: FlaskTransport) -> None:
    first = device(transport, clock)
    first.register(make_token(db, actor, sealer), PID, SN)
    again = device(transport, clock)
    again.register(make_token(db, actor, sealer), PID, SN)  # e.g. a reinstalled device
    again.deregister()
    answer = device(transport, clock).register(_other_account_token(db, actor, sealer), PID, SN)
    assert answer["account"] == "evil.example.com"

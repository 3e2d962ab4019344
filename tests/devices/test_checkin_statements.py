"""A batch of steady usage reports costs the same few statements for any number of devices
and tags: the check-in's cost per batch does not grow with its size."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from satellite.actor import Actor
from satellite.agent.client import DeviceClient
from satellite.clock import FixedClock
from satellite.config import Settings
from satellite.crypto import signing
from satellite.devices.checkin import check_in
from satellite.devices.messages import SignedMessage, build_request, parse_request
from satellite.devices.models import Device
from satellite.tokens.secrets import TokenSealer
from satellite.uow import Database
from tests.devices.helpers import TAG, FlaskTransport, Site, add_lines, device, make_token
from tests.statements import counting

TAGS = [TAG, *(f"regid.2024-01.com.example.extra-{n}" for n in range(3))]


def _message(client: DeviceClient, clock: FixedClock, usage: dict[str, int]) -> SignedMessage:
    raw, headers = build_request("usage", client.device_id, {"usage": usage}, clock.now(),
                                 lambda data: signing.sign(client.private_key, data))
    return parse_request(raw, headers, "usage")


def _batch(db: Database, settings: Settings, messages: list[SignedMessage]) -> list[str]:
    """The statements of one batch; every report in it must be answered."""
    with counting(db.engine) as statements, db.uow() as uow:
        outcomes = check_in(uow, settings, messages)
        uow.commit()
    assert all(isinstance(outcome, dict) for outcome in outcomes), outcomes
    return statements


def _steady(db: Database, settings: Settings, clock: FixedClock, clients: list[DeviceClient],
            usage: dict[str, int]) -> list[str]:
    # The first report records consumption and status; the measured one repeats it.
    _batch(db, settings, [_message(client, clock, usage) for client in clients])
    clock.advance(timedelta(seconds=60))
    return _batch(db, settings, [_message(client, clock, usage) for client in clients])


def test_a_steady_batch_costs_the_same_statements_for_one_device_or_many_with_many_tags(
        db: Database, actor: Actor, sealer: TokenSealer, site: Site, clock: FixedClock,
        settings: Settings, transport: FlaskTransport) -> None:
    with db.uow() as uow:
        for tag in TAGS[1:]:
            add_lines(uow.session, site.va_id, tag, 100)
        uow.commit()
    token = make_token(db, actor, sealer)
    clients = []
    for n in range(9):
        client = device(transport, clock)
        client.register(token, "C9300-24T", f"STMT{n:03d}")
        clients.append(client)

    one = _steady(db, settings, clock, clients[:1], {TAG: 1})
    many = _steady(db, settings, clock, clients[1:], {tag: 2 for tag in TAGS})

    assert len(one) == len(many), (one, many)
    # SQLite: BEGIN, the devices with their consumption, the nonces, the pools, the contact
    # (PostgreSQL takes the owners' locks too).
    assert len(one) <= (6 if db.engine.dialect.name == "postgresql" else 5), one
    with db.reader() as uow:
        contacts = set(uow.session.scalars(select(Device.last_contact_at)
                                           .where(Device.id.in_([c.device_id for c in clients[1:]]))))
    assert contacts == {clock.now()}


def test_a_report_that_changes_consumption_is_written_and_a_repeat_is_not(
        db: Database, actor: Actor, sealer: TokenSealer, site: Site, clock: FixedClock,
        settings: Settings, transport: FlaskTransport) -> None:
    client = device(transport, clock)
    client.register(make_token(db, actor, sealer), "C9300-24T", "STMT-CHANGE")
    steady = _steady(db, settings, clock, [client], {TAG: 1})
    changed = _batch(db, settings, [_message(client, clock, {TAG: 3})])
    repeated = _batch(db, settings, [_message(client, clock, {TAG: 3})])
    assert len(changed) > len(steady)
    assert len(repeated) == len(steady)
    assert client.report({TAG: 3})["tags"][0]["inUse"] == 3

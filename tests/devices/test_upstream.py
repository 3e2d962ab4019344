"""Device facts reach the outbound log for Central, in the same transaction as the change."""

from __future__ import annotations

from satellite.actor import Actor
from satellite.clock import FixedClock
from satellite.cloudsync import outbound
from satellite.tokens.secrets import TokenSealer
from satellite.uow import Database
from tests.devices.helpers import TAG, FlaskTransport, Site, device, make_token


def _logged(db: Database) -> list[tuple[str, dict[str, object]]]:
    with db.reader() as uow:
        session = uow.session
        return [(e.kind, e.data) for e in outbound.events(session, 0, outbound.last_sequence(session))]


def test_registration_usage_changes_and_deregistration_are_logged(
        db: Database, actor: Actor, sealer: TokenSealer, site: Site, clock: FixedClock,
        transport: FlaskTransport) -> None:
    client = device(transport, clock)
    client.register(make_token(db, actor, sealer), "C9300-24T", "FOC1234X", hostname="sw1")
    client.report({TAG: 2})
    client.report({TAG: 2})  # unchanged: nothing new for Central
    client.report({})
    client.deregister()
    place = {"account": "acme.example.com", "va": "Lab"}
    assert _logged(db) == [
        (outbound.DEVICE_REGISTERED, {"udi": "C9300-24T:FOC1234X", **place}),
        (outbound.USAGE, {"device": "C9300-24T:FOC1234X", **place, "tag": TAG, "count": 2}),
        (outbound.USAGE, {"device": "C9300-24T:FOC1234X", **place, "tag": TAG, "count": 0}),
        (outbound.DEVICE_DEREGISTERED, {"udi": "C9300-24T:FOC1234X", **place}),
    ]

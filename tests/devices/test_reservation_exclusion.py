"""A UDI holds a network registration or an offline reservation, never both at once."""

from __future__ import annotations

import pytest

from satellite.accounts import service as accounts
from satellite.actor import Actor
from satellite.agent.client import Refused
from satellite.clock import FixedClock
from satellite.errors import Conflict
from satellite.reservation import codes
from satellite.reservation import service as reservations
from satellite.tokens.secrets import TokenSealer
from satellite.uow import Database
from tests.devices.helpers import TAG, FlaskTransport, Site, device, make_token
from tests.reservation.certify import certified_signer

PID = "C9300-24T"


def _reserve(db: Database, actor: Actor, sn: str) -> None:
    request = codes.RequestCode.for_device(bytes(32), codes.Udi(PID, sn), bytes(8)).encode()
    with db.uow() as uow:
        reservations.authorize(uow, actor, "acme.example.com", "Lab", request, {TAG: 1},
                               certified_signer(uow.clock.now()))
        uow.commit()


def test_registered_udi_cannot_be_reserved_and_reserved_udi_cannot_register(
        db: Database, actor: Actor, sealer: TokenSealer, site: Site, clock: FixedClock,
        transport: FlaskTransport) -> None:
    with db.uow() as uow:
        accounts.set_reservation_mode(uow, actor, "acme.example.com", "specific")
        uow.commit()
    token = make_token(db, actor, sealer)
    device(transport, clock).register(token, PID, "NET1")
    with pytest.raises(Conflict, match="registered over the network"):
        _reserve(db, actor, "NET1")

    _reserve(db, actor, "OFF1")
    with pytest.raises(Refused, match="holds an offline reservation"):
        device(transport, clock).register(token, PID, "OFF1")

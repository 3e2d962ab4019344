"""A registration issues a fixed number of SQL statements, however many devices and tokens exist."""

from __future__ import annotations

import base64
from datetime import timedelta

from sqlalchemy import func, insert, select

from satellite.accounts.models import VirtualAccount
from satellite.actor import Actor
from satellite.clock import FixedClock
from satellite.config import Settings
from satellite.crypto import keys, signing
from satellite.devices import registration
from satellite.devices.authority import DeviceAuthority
from satellite.devices.messages import SignedMessage, build_request, parse_request
from satellite.devices.models import REGISTERED, Device
from satellite.errors import SatelliteError
from satellite.tokens.secrets import TokenSealer
from satellite.uow import Database
from tests.devices.helpers import FlaskTransport, Site, device, make_token
from tests.statements import counting

BATCH = 8


def _add_devices(db: Database, site: Site, count: int, clock: FixedClock) -> None:
    """Devices registered earlier, written straight into the table (their content is not read)."""
    now = clock.now()
    with db.reader() as uow:
        account_id = uow.session.scalar(select(VirtualAccount.account_id).where(
            VirtualAccount.id == site.va_id))
        first = uow.session.scalar(select(func.count()).select_from(Device).where(
            Device.pid == "OLD")) or 0
    # The database numbers them (a given id would not move PostgreSQL's sequence on).
    rows = [{"va_id": site.va_id, "account_id": account_id, "pid": "OLD",
             "serial": f"OLD{first + n:07d}", "vid": "", "uuid": "", "hostname": "",
             "product_tag": "", "public_key": (first + n).to_bytes(32, "big"),
             "certificate_pem": "", "certificate_serial": f"{first + n:032x}",
             "certificate_expires_at": now + timedelta(days=300), "token_id": None,
             "export_controlled": False, "status": REGISTERED, "first_registered_at": now,
             "registered_at": now, "registrations": 1, "last_contact_at": now,
             "authorization_expires_at": None, "deregistered_at": None} for n in range(count)]
    with db.engine.begin() as conn:
        conn.execute(insert(Device.__table__), rows)  # type: ignore[arg-type]


def _message(serial: str, secret: str, clock: FixedClock) -> SignedMessage:
    private = keys.generate_private_key()
    public = base64.b64encode(keys.raw_public_bytes(keys.public_key_of(private))).decode()
    raw, headers = build_request(
        "register", None, {"token": secret, "udi": {"pid": "NEW", "sn": serial},
                           "publicKey": public, "hostname": serial},
        clock.now(), lambda data: signing.sign(private, data))
    return parse_request(raw, headers, "register")


def _statements(db: Database, transport: FlaskTransport, authority: DeviceAuthority,
                settings: Settings, clock: FixedClock, secret: str, round_: str) -> tuple[int, int]:
    """Statements of one registration over HTTP, and of a batch of BATCH (group commit)."""
    client = device(transport, clock)
    with counting(db.engine) as single:
        client.register(secret, "NEW", f"ONE{round_}")
    messages = [_message(f"MANY{round_}-{n}", secret, clock) for n in range(BATCH)]
    with counting(db.engine) as batch, db.uow() as uow:
        outcomes = registration.register_many(uow, authority, settings, messages)
        uow.commit()
    assert not [o for o in outcomes if isinstance(o, SatelliteError)]
    return len(single), len(batch)


def test_a_registration_costs_the_same_statements_with_10_or_2000_devices_and_1_or_100_tokens(
        db: Database, actor: Actor, settings: Settings, clock: FixedClock, site: Site,
        sealer: TokenSealer, transport: FlaskTransport, authority: DeviceAuthority) -> None:
    # A limited token: the exact count of uses is part of what is measured.
    secret = make_token(db, actor, sealer, max_uses=1000)
    _add_devices(db, site, 10, clock)
    counts = {"10 devices, 1 token": _statements(db, transport, authority, settings, clock,
                                                 secret, "a")}
    _add_devices(db, site, 1990, clock)
    counts["2000 devices, 1 token"] = _statements(db, transport, authority, settings, clock,
                                                  secret, "b")
    for _ in range(99):
        make_token(db, actor, sealer, max_uses=5)
    counts["2000 devices, 100 tokens"] = _statements(db, transport, authority, settings, clock,
                                                     secret, "c")
    assert len(set(counts.values())) == 1, counts
    single, batch = counts["10 devices, 1 token"]
    # A batch shares its reads, its sync log append, its audit head and its commit: each
    # further registration in it costs only its own writes (savepoint, token use, device,
    # nonce, release).
    assert batch < single * BATCH, counts
    assert (batch - single) / (BATCH - 1) <= 6, counts
    with db.reader() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Device).where(
            Device.pid == "NEW")) == 3 * (BATCH + 1)

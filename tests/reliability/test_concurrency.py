"""Concurrency exactness on both engines: many writers at once on one pool, one token, one
pair of VAs; after every round the totals are conserved and what the audit trail and the
outbound log say equals what moved."""

from __future__ import annotations

import base64
import json
import random
from collections.abc import Sequence
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

from satellite.accounts.service import set_reservation_mode
from satellite.actor import Actor
from satellite.audit.models import AuditEvent
from satellite.clock import FixedClock
from satellite.cloudsync import outbound
from satellite.config import Settings
from satellite.crypto import keys, signing
from satellite.devices import registration
from satellite.devices.authority import load_authority
from satellite.devices.messages import SignedMessage, build_request, parse_request
from satellite.devices.models import Device
from satellite.errors import SatelliteError
from satellite.licenses.counters import va_counters
from satellite.licenses.models import LicenseLine, LicenseUsage
from satellite.licenses.pools import drifted_pools
from satellite.licenses.transfers import Transfer, transfer
from satellite.licenses.usage import set_usage
from satellite.reservation import codes
from satellite.reservation import service as reservation
from satellite.tokens.models import RegistrationToken
from satellite.tokens.secrets import TokenSealer
from satellite.uow import Database
from tests.devices.helpers import make_site, make_token
from tests.licenses.helpers import ROUTER, add_line, make_account
from tests.parallel import in_parallel
from tests.reliability.conftest import rounds
from tests.reservation.certify import certified_signer

pytestmark = pytest.mark.reliability

TODAY = date(2026, 3, 1)


def _pieces_of(session: Any, va_id: int) -> list[tuple[Any, ...]]:
    return [(ln.origin_id, ln.license_type, ln.start_date, ln.end_date, ln.subscription_id,
             ln.export_controlled) for ln in session.scalars(
        select(LicenseLine).where(LicenseLine.va_id == va_id, LicenseLine.tag == ROUTER))]


def pool_quantity(session: Any, va_id: int, tag: str = ROUTER) -> int:
    found = va_counters(session, va_id, TODAY).get(tag)
    return 0 if found is None else found.quantity


def test_parallel_transfers_both_ways_move_exactly_what_they_report(
        db: Database, actor: Actor) -> None:
    vas = make_account(db, actor)
    lab, ops = vas["Lab"], vas["Ops"]
    add_line(db, lab, ROUTER, 10, origin="order-1")
    add_line(db, lab, ROUTER, 10, "TERM", date(2026, 1, 1), date(2026, 12, 31), origin="order-2")
    add_line(db, ops, ROUTER, 5, origin="order-3")
    total = 25
    expected_lab = 20
    moved_to_ops = moved_to_lab = 0
    rng = random.Random(16)
    for _round in range(rounds()):
        plan = [(rng.choice([("Lab", "Ops"), ("Ops", "Lab")]), rng.randint(1, 8))
                for _ in range(12)]

        def move(index: int, plan: Sequence[tuple[tuple[str, str], int]] = plan) -> Transfer:
            (source, target), quantity = plan[index]
            with db.uow() as uow:
                done = transfer(uow, actor, "Acme", source, target, ROUTER, quantity)
                uow.commit()
            return done

        for ((source, _target), quantity), outcome in zip(plan, in_parallel(move, len(plan)),
                                                           strict=True):
            if isinstance(outcome, SatelliteError):
                continue
            assert sum(n for _origin, n in outcome.pieces) == outcome.quantity == quantity
            if source == "Lab":
                expected_lab -= quantity
                moved_to_ops += quantity
            else:
                expected_lab += quantity
                moved_to_lab += quantity
        with db.reader() as uow:
            counters = {va: pool_quantity(uow.session, va) for va in (lab, ops)}
            assert counters == {lab: expected_lab, ops: total - expected_lab}
            # One line per piece of an order in each VA: concurrent moves merge, never split.
            for va in (lab, ops):
                pieces = _pieces_of(uow.session, va)
                assert len(pieces) == len(set(pieces)), f"fragmented lines: {pieces}"
            audited = {"Lab": 0, "Ops": 0}
            for event in uow.session.scalars(
                    select(AuditEvent).where(AuditEvent.action == "license.transfer")):
                details = json.loads(event.details)
                assert sum(p["quantity"] for p in details["pieces"]) == details["quantity"]
                audited[details["to"].rsplit("/", 1)[1]] += details["quantity"]
            assert audited == {"Lab": moved_to_lab, "Ops": moved_to_ops}
            told = {"Lab": 0, "Ops": 0}
            for fact in outbound.events(uow.session, 0, outbound.last_sequence(uow.session)):
                if fact.kind == outbound.TRANSFER:
                    assert sum(p["quantity"] for p in fact.data["pieces"]) == \
                        fact.data["quantity"]
                    told[fact.data["to"]["va"]] += fact.data["quantity"]
            assert told == audited
            assert drifted_pools(uow.session) == []


def test_parallel_reservations_never_reserve_more_than_the_pool_holds(
        db: Database, actor: Actor, clock: FixedClock) -> None:
    vas = make_account(db, actor, vas=("Lab",))
    with db.uow() as uow:
        set_reservation_mode(uow, actor, "Acme", "specific")
        uow.commit()
    add_line(db, vas["Lab"], ROUTER, 10)
    signer = certified_signer(clock.now())
    granted: dict[str, int] = {}
    rng = random.Random(7)
    for round_ in range(rounds()):
        # Two of them ask for the same device with the same request code.
        asks = [(f"R{round_}-{i}", rng.randint(1, 4)) for i in range(7)]
        asks.append(asks[0])

        def reserve(index: int, asks: Sequence[tuple[str, int]] = asks) -> int:
            serial, count = asks[index]
            code = codes.RequestCode.for_device(bytes([1 + index % 7]) * 32,
                                                codes.Udi("C9300", serial), bytes(8)).encode()
            with db.uow() as uow:
                reservation.authorize(uow, actor, "Acme", "Lab", code, {ROUTER: count}, signer)
                uow.commit()
            return count

        with db.reader() as uow:
            logged = outbound.last_sequence(uow.session)
        for (serial, count), outcome in zip(asks, in_parallel(reserve, len(asks)), strict=True):
            if not isinstance(outcome, SatelliteError):
                assert serial not in granted, f"{serial} was reserved twice"
                granted[serial] = count
        with db.reader() as uow:
            pool = va_counters(uow.session, vas["Lab"], TODAY)[ROUTER]
            assert pool.reserved == sum(granted.values()) <= 10
            assert pool.available >= 0
            authorized = sum(fact.data["licenses"][ROUTER] for fact in outbound.events(
                uow.session, logged, outbound.last_sequence(uow.session))
                if fact.kind == outbound.RESERVATION_AUTHORIZED)
            assert authorized == pool.reserved
        # Hand the pool back for the next round, one by one.
        for serial in list(granted):
            with db.uow() as uow:
                reservation.remove(uow, actor, f"C9300:{serial}", "campaign round over")
                uow.commit()
            del granted[serial]


def test_parallel_reports_into_one_pool_are_counted_exactly(db: Database, actor: Actor) -> None:
    lab = make_account(db, actor, vas=("Lab",))["Lab"]
    add_line(db, lab, ROUTER, 5)
    rng = random.Random(3)
    for _round in range(rounds()):
        # Several reports per owner in one round: two of one owner may meet on new rows.
        plan = [(f"device:{rng.randint(1, 6)}", rng.randint(0, 4)) for _ in range(16)]

        def report(index: int, plan: Sequence[tuple[str, int]] = plan) -> tuple[str, int]:
            owner, count = plan[index]
            with db.uow() as uow:
                set_usage(uow.session, owner, "in_use", {(lab, ROUTER): count})
                uow.commit()
            return owner, count

        in_parallel(report, len(plan))
        with db.reader() as uow:
            rows = {owner: n for owner, n in uow.session.execute(
                select(LicenseUsage.owner, LicenseUsage.quantity).where(LicenseUsage.va_id == lab))}
            pool = va_counters(uow.session, lab, TODAY)[ROUTER]
        assert pool.in_use == sum(rows.values())
        # Whatever order they landed in, each owner holds one of the counts it reported.
        for owner in {owner for owner, _n in plan}:
            assert rows.get(owner, 0) in {n for o, n in plan if o == owner}


def test_parallel_registrations_on_limited_tokens_use_each_exactly_up_to_its_limit(
        db: Database, actor: Actor, settings: Settings, clock: FixedClock) -> None:
    make_site(db, actor)
    sealer = TokenSealer.for_data_dir(settings.data_dir)
    authority = load_authority(settings)
    registered = 0
    for round_ in range(rounds()):
        limit = 3 + round_ % 4
        secret = make_token(db, actor, sealer, max_uses=limit)
        messages = [_register_message(f"SN{round_}-{i}", secret, clock) for i in range(12)]

        def register(index: int, messages: Sequence[SignedMessage] = messages) -> None:
            with db.uow() as uow:
                registration.register(uow, authority, settings, messages[index])
                uow.commit()

        outcomes = in_parallel(register, len(messages))
        assert sum(1 for o in outcomes if o is None) == limit
        assert all("its maximum" in o.message for o in outcomes if o is not None)
        registered += limit
        with db.reader() as uow:
            assert uow.session.scalar(select(func.count()).select_from(Device)) == registered
            assert uow.session.scalar(select(RegistrationToken.uses).where(
                RegistrationToken.max_uses == limit).order_by(RegistrationToken.id.desc())
                .limit(1)) == limit
            told = sum(1 for fact in outbound.events(
                uow.session, 0, outbound.last_sequence(uow.session))
                if fact.kind == outbound.DEVICE_REGISTERED)
            assert told == registered


def _register_message(serial: str, secret: str, clock: FixedClock) -> SignedMessage:
    private = keys.generate_private_key()
    public = keys.raw_public_bytes(keys.public_key_of(private))
    raw, headers = build_request(
        "register", None, {"token": secret, "udi": {"pid": "P", "sn": serial},
                           "publicKey": base64.b64encode(public).decode()},
        clock.now(), lambda data: signing.sign(private, data))
    return parse_request(raw, headers, "register")


def test_parallel_registrations_of_one_udi_make_one_device(
        db: Database, actor: Actor, settings: Settings, clock: FixedClock) -> None:
    make_site(db, actor)
    sealer = TokenSealer.for_data_dir(settings.data_dir)
    authority = load_authority(settings)
    for round_ in range(rounds()):
        # A token each: one token's use count would already queue them.
        messages = [_register_message(f"SAME{round_}", make_token(db, actor, sealer), clock)
                    for _ in range(6)]

        def register(index: int, messages: Sequence[SignedMessage] = messages) -> None:
            with db.uow() as uow:
                registration.register(uow, authority, settings, messages[index])
                uow.commit()

        outcomes = in_parallel(register, len(messages))
        with db.reader() as uow:
            assert uow.session.scalar(select(func.count()).select_from(Device)) == round_ + 1
            times = uow.session.scalar(select(Device.registrations).where(
                Device.serial == f"SAME{round_}"))
        assert times == sum(1 for o in outcomes if o is None) >= 1
        assert all("just registered" in o.message for o in outcomes if o is not None)

"""Usage reports recorded in batches (group commit): each one counted once, refusals kept apart."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from satellite.actor import Actor
from satellite.agent.client import DeviceClient
from satellite.clock import FixedClock
from satellite.config import Settings
from satellite.crypto import keys, signing
from satellite.devices.checkin import CheckinWriter, check_in
from satellite.devices.messages import SignedMessage, build_request, parse_request
from satellite.devices.models import Device, DeviceNonce
from satellite.devices.verification import KnownKeys, ReplayedMessage, Verified
from satellite.errors import InvalidInput, SatelliteError, Unauthenticated
from satellite.licenses.counters import counter
from satellite.tokens.secrets import TokenSealer
from satellite.uow import Database
from tests.devices.helpers import TAG, FlaskTransport, Site, device, make_token


def _devices(transport: FlaskTransport, clock: FixedClock, token: str,
             count: int) -> list[DeviceClient]:
    clients = []
    for n in range(count):
        client = device(transport, clock)
        client.register(token, "C9300-24T", f"BATCH{n:03d}")
        clients.append(client)
    return clients


def _message(client: DeviceClient, clock: FixedClock, usage: dict[str, int],
             private: keys.PrivateKey | None = None) -> SignedMessage:
    raw, headers = build_request("usage", client.device_id, {"usage": usage}, clock.now(),
                                 lambda data: signing.sign(private or client.private_key, data))
    return parse_request(raw, headers, "usage")


def _in_use(db: Database, site: Site, clock: FixedClock) -> int:
    with db.reader() as uow:
        return counter(uow.session, site.va_id, TAG, clock.now().date()).in_use


def _nonces(db: Database) -> int:
    with db.reader() as uow:
        return uow.session.scalar(select(func.count()).select_from(DeviceNonce)) or 0


def test_a_batch_records_the_good_reports_and_refuses_each_bad_one_alone(
        db: Database, actor: Actor, sealer: TokenSealer, site: Site, clock: FixedClock,
        settings: Settings, transport: FlaskTransport) -> None:
    a, b, c, d, e = _devices(transport, clock, make_token(db, actor, sealer), 5)
    earlier = _message(a, clock, {TAG: 1})
    with db.uow() as uow:
        assert isinstance(check_in(uow, settings, [earlier])[0], dict)
        uow.commit()
    nonces = _nonces(db)
    stranger = DeviceClient(transport, keys.generate_private_key(), device_id=99999)
    batch = [
        earlier,                                          # replayed: seen in an earlier batch
        _message(b, clock, {TAG: 2}),                     # good
        _message(c, clock, {TAG: 1}, keys.generate_private_key()),  # forged signature
        _message(d, clock, {TAG: -1}),                    # bad count
        _message(stranger, clock, {TAG: 1}),              # unknown device
        _message(e, clock, {TAG: 1}),                     # good
    ]
    with db.uow() as uow:
        outcomes: Sequence[dict[str, Any] | SatelliteError] = check_in(uow, settings, batch)
        uow.commit()
    assert isinstance(outcomes[0], ReplayedMessage)
    assert isinstance(outcomes[2], Unauthenticated) and "not trusted" in outcomes[2].message
    assert isinstance(outcomes[3], InvalidInput)
    assert isinstance(outcomes[4], Unauthenticated) and "not registered" in outcomes[4].message
    good = [outcomes[1], outcomes[5]]
    assert all(isinstance(o, dict) and o["status"] == "AUTHORIZED" for o in good)
    # Each answer tells the counters as committed with the whole batch.
    assert [o["tags"][0]["inUse"] for o in good if isinstance(o, dict)] == [4, 4]
    assert _in_use(db, site, clock) == 1 + 2 + 1
    assert _nonces(db) == nonces + 2  # refused messages leave no nonce behind
    # The bad-count device was not burned by the batch: its next, valid report is recorded.
    assert d.report({TAG: 1})["status"] == "AUTHORIZED"
    assert _in_use(db, site, clock) == 5


def test_concurrent_reports_through_the_endpoint_are_all_recorded_exactly(
        db: Database, actor: Actor, sealer: TokenSealer, site: Site, clock: FixedClock,
        app: Flask, transport: FlaskTransport) -> None:
    clients = _devices(transport, clock, make_token(db, actor, sealer), 16)
    lanes = [clients[i::8] for i in range(8)]
    reports = 6

    def lane(members: list[DeviceClient]) -> list[dict[str, Any]]:
        with app.test_client() as http:
            speaking = [DeviceClient(FlaskTransport(http), c.private_key, c.device_id,
                                     c.satellite_key, now=clock.now) for c in members]
            # Counts go 1, 0, 1, 0 ... and end on 0 for odd devices, 1 for even ones.
            return [client.report({TAG: (r + client_index) % 2})
                    for r in range(reports)
                    for client_index, client in enumerate(speaking)]

    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = [a for result in pool.map(lane, lanes) for a in result]
    assert len(answers) == 16 * reports
    for answer in answers:
        (tag,) = answer["tags"]
        # Each answer tells a committed state of the pool of 5, and the status that goes with it.
        assert tag["quantity"] == 5 and tag["available"] == 5 - tag["inUse"]
        assert 0 <= tag["inUse"] <= 16
        assert answer["status"] == ("AUTHORIZED" if tag["available"] >= 0
                                    else "OUT_OF_COMPLIANCE")
    # The last report of each device is its consumption.
    expected = sum((reports - 1 + i) % 2 for members in lanes for i in range(len(members)))
    assert _in_use(db, site, clock) == expected
    assert _nonces(db) == 16 * reports + 16  # every report and every registration
    with db.reader() as uow:
        last_contacts = set(uow.session.scalars(select(Device.last_contact_at)))
    assert last_contacts == {clock.now()}


def test_the_same_message_sent_twice_at_once_is_recorded_once(
        db: Database, actor: Actor, sealer: TokenSealer, site: Site, clock: FixedClock,
        settings: Settings, transport: FlaskTransport) -> None:
    (client,) = _devices(transport, clock, make_token(db, actor, sealer), 1)
    message = _message(client, clock, {TAG: 2})
    writer = CheckinWriter(db, settings)

    def send(_n: int) -> object:
        try:
            return writer.report(message)
        except ReplayedMessage as exc:
            return exc

    with ThreadPoolExecutor(max_workers=4) as pool:
        outcomes = list(pool.map(send, range(4)))
    assert sum(isinstance(o, dict) for o in outcomes) == 1
    assert sum(isinstance(o, ReplayedMessage) for o in outcomes) == 3
    assert _in_use(db, site, clock) == 2


def test_a_batch_that_fails_as_a_whole_is_run_again_report_by_report(
        db: Database, actor: Actor, sealer: TokenSealer, site: Site, clock: FixedClock,
        settings: Settings, transport: FlaskTransport) -> None:
    """A batch transaction can fail (a deadlock between nodes, a lost connection): then
    nothing of it was committed, and each report gets a transaction of its own."""
    first, *others = _devices(transport, clock, make_token(db, actor, sealer), 4)
    writer = CheckinWriter(db, settings)
    record = writer._group._run
    started, release = threading.Event(), threading.Event()
    batches: list[int] = []

    def flaky(messages: Sequence[SignedMessage]) -> Sequence[dict[str, Any] | Exception]:
        batches.append(len(messages))
        if len(batches) == 1:
            started.set()
            release.wait(10)
        if len(messages) > 1:
            # Record the batch, then fail before committing, as a deadlock would.
            with db.uow() as uow:
                check_in(uow, settings, messages)
            raise RuntimeError("deadlock detected")
        return record(messages)

    writer._group._run = flaky
    with ThreadPoolExecutor(max_workers=4) as pool:
        leader = pool.submit(writer.report, _message(first, clock, {TAG: 1}))
        assert started.wait(10)
        queued = [pool.submit(writer.report, _message(c, clock, {TAG: 1})) for c in others]
        while len(writer._group._queue) < len(others):
            threading.Event().wait(0.01)
        release.set()
        answers = [leader.result(), *[q.result() for q in queued]]
    assert batches == [1, 3, 1, 1, 1]
    assert [a["status"] for a in answers] == ["AUTHORIZED"] * 4
    assert _in_use(db, site, clock) == 4
    assert _nonces(db) == 4 + 4


@pytest.mark.parametrize("bad", [{TAG: True}, {"": 1}, "not an object", {TAG: 2**63 - 1}, {TAG: 1_000_001}])
def test_a_malformed_usage_is_refused_before_anything_is_written(
        db: Database, actor: Actor, sealer: TokenSealer, site: Site, clock: FixedClock,
        settings: Settings, transport: FlaskTransport, bad: Any) -> None:
    (client,) = _devices(transport, clock, make_token(db, actor, sealer), 1)
    raw, headers = build_request("usage", client.device_id, {"usage": bad}, clock.now(),
                                 lambda data: signing.sign(client.private_key, data))
    nonces = _nonces(db)
    with db.uow() as uow:
        (outcome,) = check_in(uow, settings, [parse_request(raw, headers, "usage")])
        uow.commit()
    assert isinstance(outcome, InvalidInput)
    assert _nonces(db) == nonces


def test_a_key_verified_before_the_batch_is_only_a_hint(
        db: Database, actor: Actor, sealer: TokenSealer, site: Site, clock: FixedClock,
        settings: Settings, transport: FlaskTransport) -> None:
    """A report verified with a key that is not its device's key is verified again, and fails."""
    (client,) = _devices(transport, clock, make_token(db, actor, sealer), 1)
    forger = keys.generate_private_key()
    forged = _message(client, clock, {TAG: 1}, forger)
    claimed = Verified(forged, keys.raw_public_bytes(keys.public_key_of(forger)))
    good = _message(client, clock, {TAG: 1})
    with db.uow() as uow:
        (refused,) = check_in(uow, settings, [claimed])
        (answer,) = check_in(uow, settings, [
            Verified(good, keys.raw_public_bytes(keys.public_key_of(client.private_key)))])
        uow.commit()
    assert isinstance(refused, Unauthenticated)
    assert isinstance(answer, dict) and answer["status"] == "AUTHORIZED"


def test_a_device_seen_once_is_verified_before_its_next_batch(
        db: Database, actor: Actor, sealer: TokenSealer, site: Site, clock: FixedClock,
        settings: Settings, transport: FlaskTransport) -> None:
    (client,) = _devices(transport, clock, make_token(db, actor, sealer), 1)
    writer = CheckinWriter(db, settings)
    first = _message(client, clock, {TAG: 1})
    assert writer.keys.verify(first) is first  # not seen yet: the batch verifies it
    writer.report(first)
    assert isinstance(writer.keys.verify(_message(client, clock, {TAG: 1})), Verified)
    forged = _message(client, clock, {TAG: 1}, keys.generate_private_key())
    assert writer.keys.verify(forged) is forged
    with pytest.raises(Unauthenticated):
        writer.report(forged)
    assert writer.report(_message(client, clock, {TAG: 2}))["status"] == "AUTHORIZED"
    assert _in_use(db, site, clock) == 2


def test_known_keys_keep_the_newest() -> None:
    known = KnownKeys(size=2)
    for device_id in (1, 2, 3):
        known.learn(device_id, bytes([device_id]) * 32)
    known.learn(3, b"\x09" * 32)  # a device's new key replaces its old one
    assert sorted(known._keys) == [2, 3] and known._keys[3] == b"\x09" * 32

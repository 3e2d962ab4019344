"""A controlled clock moved forward and back under a device that keeps reporting: a captured
report is never accepted twice, the jump is detected, alerted and shown by /readyz, and the
scheduler keeps running its jobs."""

from __future__ import annotations

import json
import logging
from datetime import timedelta

import pytest
from sqlalchemy import select

from satellite.actor import Actor
from satellite.agent.client import DeviceClient, Refused
from satellite.alerts.models import CLOCK_JUMP, Alert
from satellite.audit.service import list_events
from satellite.bootstrap import database
from satellite.clock import FixedClock
from satellite.clockcheck import ClockWatch, clock_job
from satellite.config import Settings
from satellite.devices.aging import aging_job
from satellite.devices.models import DeviceNonce
from satellite.licenses.counters import counter
from satellite.scheduler import Job, is_due, run_job
from satellite.tokens.secrets import TokenSealer
from satellite.uow import Database
from tests.devices.helpers import TAG, FlaskTransport, Site, device, make_token
from tests.reliability.conftest import rounds

pytestmark = pytest.mark.reliability

AGE_DEVICES = Job("age-devices", aging_job, 3600)


def in_use(db: Database, site: Site) -> int:
    with db.reader() as uow:
        return counter(uow.session, site.va_id, TAG, uow.clock.now().date()).in_use


def open_clock_alert(db: Database) -> str | None:
    with db.reader() as uow:
        alert = uow.session.scalar(select(Alert).where(Alert.key == CLOCK_JUMP,
                                                       Alert.cleared_at.is_(None)))
        return None if alert is None else alert.message


def readiness(transport: FlaskTransport) -> dict[str, str]:
    answer = transport.client.get("/readyz")
    assert answer.status_code == 200
    document: dict[str, str] = answer.get_json()
    return document


def replay(transport: FlaskTransport, client: DeviceClient, prepared) -> int:  # type: ignore[no-untyped-def]
    with pytest.raises(Refused) as refused:
        client.accept(prepared, client.send(prepared))
    return refused.value.status


def test_a_clock_moved_forward_then_back_never_lets_a_report_be_replayed(
        db: Database, actor: Actor, sealer: TokenSealer, site: Site, clock: FixedClock,
        settings: Settings, transport: FlaskTransport) -> None:
    client = device(transport, clock)
    client.register(make_token(db, actor, sealer), "C9300-24T", "FOC1")
    clock_job(db, settings)  # the scheduler's first check: the watch's starting point
    start = clock.now()
    for round_ in range(rounds()):
        captured = client.prepare("usage", {"usage": {TAG: 2}})
        assert client.accept(captured, client.send(captured))["status"] == "AUTHORIZED"
        client.report({TAG: 3})
        assert in_use(db, site) == 3
        # Forward one hour (and a bit more each round): the aging job runs on it.
        jump = timedelta(hours=1, minutes=7 * round_)
        clock.advance(jump)
        run_job(AGE_DEVICES, db, settings)
        assert readiness(transport)["status"] == "degraded"
        assert "jumped" in (open_clock_alert(db) or "")
        with db.reader() as uow:
            assert uow.session.scalar(select(DeviceNonce).where(
                DeviceNonce.nonce == captured.nonce)) is not None, "replay protection purged"
        # Back again: the captured report is refused, the consumption stays.
        clock.advance(-jump + timedelta(seconds=30))
        assert replay(transport, client, captured) == 409
        assert in_use(db, site) == 3
        # The run recorded an hour ahead does not stop the job.
        assert is_due(db, AGE_DEVICES)
        run_job(AGE_DEVICES, db, settings)
        assert readiness(transport) == {"status": "ok", "database": "ok", "storage": "ok",
                                        "clock": "ok"}
        assert open_clock_alert(db) is None
        clock.advance(timedelta(minutes=10))
    assert clock.now() > start


def test_nonces_forgotten_on_an_undetected_jump_still_refuse_the_replay(
        db: Database, actor: Actor, sealer: TokenSealer, site: Site, clock: FixedClock,
        settings: Settings, transport: FlaskTransport) -> None:
    client = device(transport, clock)
    client.register(make_token(db, actor, sealer), "C9300-24T", "FOC2")
    for round_ in range(rounds()):
        captured = client.prepare("usage", {"usage": {TAG: 1}})
        client.accept(captured, client.send(captured))
        client.report({TAG: 4})
        # A restarted node has no memory of its clock: the jump forward goes unseen and the
        # aging job forgets the nonces of the last hour. (Its monotonic clock moves only when
        # time really passes.)
        restarted = database(db.engine, clock)
        elapsed = [0.0]
        restarted.clock_watch = ClockWatch(lambda elapsed=elapsed: elapsed[0])
        jump = timedelta(hours=1 + round_)
        clock.advance(jump)
        run_job(AGE_DEVICES, restarted, settings)
        with db.reader() as uow:
            assert uow.session.scalar(select(DeviceNonce).where(
                DeviceNonce.nonce == captured.nonce)) is None
        clock.advance(-jump)
        assert replay(transport, client, captured) == 401
        assert in_use(db, site) == 4
        # The clock is behind the time it has seen: detected, alerted, shown.
        clock_job(restarted, settings)
        assert "moved backwards" in (open_clock_alert(db) or "")
        assert readiness(transport)["status"] == "degraded"
        # Once time has caught up, all is well again and devices are served.
        clock.advance(jump + timedelta(minutes=10))
        elapsed[0] += (jump + timedelta(minutes=10)).total_seconds()
        clock_job(restarted, settings)
        assert open_clock_alert(db) is None
        client.report({TAG: 4})


def test_a_satellite_clock_a_day_behind_is_visible_while_devices_are_refused(
        db: Database, actor: Actor, sealer: TokenSealer, site: Site, clock: FixedClock,
        settings: Settings, transport: FlaskTransport, caplog: pytest.LogCaptureFixture) -> None:
    true_time = FixedClock(clock.now())
    clients = []
    for n in range(3):
        client = device(transport, true_time)
        client.register(make_token(db, actor, sealer), "C9300-24T", f"FOC-D{n}")
        clients.append(client)
    # A fresh node whose clock is a day behind: it has no record of the time seen yet.
    behind = database(db.engine, FixedClock(clock.now() - timedelta(days=1)))
    from satellite.web import create_app

    app = create_app(settings, behind)
    caplog.set_level(logging.WARNING)
    with app.test_client() as http:
        fresh = FlaskTransport(http)
        for client in clients:
            client.transport = fresh
            with pytest.raises(Refused, match="check the device clock"):
                client.report({TAG: 1})
        assert "ahead of the satellite's" in caplog.text
        ready = http.get("/readyz").get_json()
    assert ready["status"] == "degraded"
    assert "check the satellite's clock" in ready["clock"]


def test_an_operator_reads_the_clock_state_and_accepts_a_jump(
        db: Database, settings: Settings, clock: FixedClock, cli) -> None:  # type: ignore[no-untyped-def]
    clock_job(db, settings)
    clock.advance(timedelta(hours=3))
    clock_job(db, settings)
    status = cli("clock", "status", "--json")
    assert status.code == 0
    report = json.loads(status.out)
    assert report["state"] == "jumped forward" and "3 hours forward" in report["problem"]
    accepted = cli("clock", "accept")
    assert accepted.code == 0 and accepted.out.startswith("clock accepted (was: the satellite")
    assert open_clock_alert(db) is None
    assert json.loads(cli("clock", "status", "--json").out)["state"] == "ok"
    with db.reader() as uow:
        assert list_events(uow.session, action="system.clock_accept")

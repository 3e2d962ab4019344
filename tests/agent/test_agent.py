"""The agent keeps its key and last authorization, and retries an unreachable satellite."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from satellite.actor import Actor
from satellite.agent import agent as agent_module
from satellite.agent.agent import Agent, NotRegistered
from satellite.agent.client import Refused, with_retries
from satellite.agent.transport import Transport, Unreachable
from satellite.clock import FixedClock
from satellite.tokens.secrets import TokenSealer
from satellite.uow import Database
from tests.devices.helpers import TAG, FlaskTransport, Site, make_token
from tests.serving import free_port


def test_retries_back_off_and_a_refusal_is_final() -> None:
    waits: list[float] = []
    calls = []

    def unreachable() -> dict[str, object]:
        calls.append(1)
        raise Unreachable("down")

    with pytest.raises(Unreachable):
        with_retries(unreachable, attempts=4, base_delay=1.0, sleep=waits.append)
    assert len(calls) == 4
    assert len(waits) == 3
    assert all(0.8 * 2**i <= w <= 1.2 * 2**i for i, w in enumerate(waits))

    def refused() -> dict[str, object]:
        calls.append(1)
        raise Refused(401, "no")

    calls.clear()
    with pytest.raises(Refused):
        with_retries(refused, attempts=4, sleep=waits.append)
    assert len(calls) == 1


def test_an_unreachable_satellite_keeps_the_last_authorization_until_it_expires(
        db: Database, actor: Actor, sealer: TokenSealer, site: Site, clock: FixedClock,
        transport: FlaskTransport, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state = tmp_path / "agent"
    agent = Agent(state, now=clock.now, attempts=2, sleep=lambda _s: None)
    with pytest.raises(NotRegistered):
        agent.renew()
    # Talk to the app in-process, then point the agent at a port where nothing listens.
    monkeypatch.setattr(agent_module, "Transport", lambda _url, **_kw: transport)
    agent.register("http://satellite.test", make_token(db, actor, sealer), "C9300", "AG1")
    assert agent.report({TAG: 1})["status"] == "AUTHORIZED"
    assert (state / "device.key").stat().st_mode & 0o777 == 0o600

    dead = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setattr(agent_module, "Transport", lambda _url, **_kw: Transport(dead, timeout=1))
    clock.advance(timedelta(days=31))
    with pytest.raises(Unreachable):
        agent.report({TAG: 1})
    status = Agent(state, now=clock.now).status()
    assert (status["status"], status["authorizationValid"], status["failures"]) == (
        "AUTHORIZED", True, 1)
    assert status["tags"] == {TAG: "AUTHORIZED"}
    assert status["nextAttemptAt"].startswith((clock.now() + timedelta(hours=1)).strftime("%Y-%m-%dT%H"))
    clock.advance(timedelta(days=60))
    assert Agent(state, now=clock.now).status()["authorizationValid"] is False

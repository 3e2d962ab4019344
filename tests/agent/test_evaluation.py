"""The agent's own evaluation clock: 90 days of use before registration, never given twice."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner

from satellite.accounts import export_control
from satellite.actor import Actor
from satellite.agent import agent as agent_module
from satellite.agent.agent import Agent
from satellite.agent.cli import cli as agent_cli
from satellite.clock import FixedClock, utc_text
from satellite.devices.service import show_device
from satellite.tokens.secrets import TokenSealer
from satellite.uow import Database
from tests.devices.helpers import SECRET_TAG, TAG, FlaskTransport, Site, make_token


def test_evaluation_runs_until_registration_and_resumes_after_deregistration(
        db: Database, actor: Actor, sealer: TokenSealer, site: Site, clock: FixedClock,
        transport: FlaskTransport, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(agent_module, "Transport", lambda _url, **_kw: transport)
    state = tmp_path / "agent"
    agent = Agent(state, now=clock.now, attempts=1, sleep=lambda _s: None)
    assert agent.status()["evaluation"].startswith("not started")

    used = agent.report({TAG: 1})
    assert used["status"] == "EVALUATION" and used["evaluationDaysLeft"] == 90
    clock.advance(timedelta(days=30))
    assert agent.status()["evaluation"] == "evaluation, 60 days left"

    agent.register("http://satellite.test", make_token(db, actor, sealer), "C9300", "EV1")
    # The satellite remembers when the device's evaluation began; registration ended it.
    with db.reader() as uow:
        shown = show_device(uow.session, actor, "PID:C9300,SN:EV1", now=clock.now())
    assert shown["evaluation"]["state"] == "evaluation ended"
    assert shown["evaluation"]["startedAt"] == utc_text(clock.now() - timedelta(days=30))
    clock.advance(timedelta(days=200))
    assert agent.status()["evaluation"] == "registered (evaluation ended; 30 of 90 days used)"
    assert agent.report({TAG: 1})["status"] == "AUTHORIZED"

    agent.deregister()
    # Deregistered, the clock resumes where registration stopped it.
    assert agent.report({TAG: 1})["evaluationDaysLeft"] == 60
    clock.advance(timedelta(days=59))
    assert agent.status()["evaluation"] == "evaluation, 1 day left"
    clock.advance(timedelta(days=1))
    expired = agent.report({TAG: 1})
    assert expired["status"] == "EVALUATION_EXPIRED"
    assert agent.status()["evaluation"] == "evaluation expired"


def test_the_agent_shows_why_an_export_controlled_tag_is_refused(
        db: Database, actor: Actor, sealer: TokenSealer, site: Site, clock: FixedClock,
        transport: FlaskTransport, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(agent_module, "Transport", lambda _url, **_kw: transport)
    state = tmp_path / "agent"
    agent = Agent(state, now=clock.now, attempts=1, sleep=lambda _s: None)
    agent.register("http://satellite.test", make_token(db, actor, sealer, export_controlled=True),
                   "C9300", "EX2")
    with db.uow() as uow:
        export_control.set_category(uow, actor, "Acme", "D")
        uow.commit()
    agent.report({SECRET_TAG: 1})
    info = agent.status()
    assert info["tags"] == {SECRET_TAG: "NOT_AUTHORIZED"}
    assert "export-control category D" in info["reasons"][SECRET_TAG]
    shown = CliRunner().invoke(agent_cli, ["--state", str(state), "status"])
    assert f"reason {SECRET_TAG}: export-controlled: the account's export-control category D" \
        in shown.output

from __future__ import annotations

import dataclasses

import pytest

from satellite.accounts import service
from satellite.actor import Actor
from satellite.config import Settings
from satellite.uow import Database


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The test sinks listen on loopback, which the settings file must allow."""
    return dataclasses.replace(settings, alert_allow_local_targets=True)


@pytest.fixture(autouse=True)
def _local_sinks_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    """The same for the CLI, which reads its settings from the environment."""
    monkeypatch.setenv("SATELLITE_ALERT_ALLOW_LOCAL_TARGETS", "true")


@pytest.fixture
def acme(db: Database, actor: Actor) -> int:
    """An account, Acme (acme.example.com); returns its id."""
    with db.uow() as uow:
        account = service.create_account(uow, actor, "Acme", "acme.example.com")
        uow.commit()
        return account.id

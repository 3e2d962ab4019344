"""Device-protocol fixtures, shared by the device, token, agent and end-to-end tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from satellite.actor import Actor
from satellite.config import Settings
from satellite.devices.authority import DeviceAuthority, load_authority
from satellite.tokens.secrets import TokenSealer
from satellite.uow import Database
from satellite.web import create_app
from tests.devices.helpers import FlaskTransport, Site, make_site


@pytest.fixture
def authority(db: Database, settings: Settings) -> DeviceAuthority:
    """The keys `satellite init` made (the db fixture initialises the data dir)."""
    return load_authority(settings)


@pytest.fixture
def sealer(settings: Settings) -> TokenSealer:
    return TokenSealer.for_data_dir(settings.data_dir)


@pytest.fixture
def site(db: Database, actor: Actor) -> Site:
    return make_site(db, actor)


@pytest.fixture
def app(settings: Settings, db: Database, authority: DeviceAuthority) -> Flask:
    return create_app(settings, db)


@pytest.fixture
def transport(app: Flask) -> Iterator[FlaskTransport]:
    with app.test_client() as client:
        yield FlaskTransport(client)

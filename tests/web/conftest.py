"""A Flask test client over the app, API clients, and checks against the OpenAPI document."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jsonschema
import pytest
from flask import Flask
from flask.testing import FlaskClient

from satellite.access.apiclients import create_client
from satellite.actor import Actor
from satellite.config import Settings
from satellite.uow import Database
from satellite.web import create_app
from satellite.web.openapi import document


@pytest.fixture
def app(settings: Settings, db: Database) -> Flask:
    return create_app(settings, db)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def make_client(db: Database, actor: Actor) -> Callable[..., tuple[str, str]]:
    """Create an API client of an account: returns (client_id, client_secret)."""
    def make(account: str, role: str = "account_admin") -> tuple[str, str]:
        with db.uow() as uow:
            made, secret = create_client(uow, actor, account, role)
            uow.commit()
            return made.client_id, secret
    return make


@pytest.fixture
def bearer(client: FlaskClient, make_client: Callable[..., tuple[str, str]]
           ) -> Callable[..., dict[str, str]]:
    """Authorization headers for a new client of an account with a role."""
    def headers(account: str, role: str = "account_admin") -> dict[str, str]:
        client_id, secret = make_client(account, role)
        answer = client.post("/oauth/token", json={"grant_type": "client_credentials",
                                                   "client_id": client_id,
                                                   "client_secret": secret})
        assert answer.status_code == 200, answer.json
        return {"Authorization": f"Bearer {answer.json['access_token']}"}
    return headers


def conforms(body: Any, path: str, method: str, status: int) -> None:
    """Raise unless `body` matches the OpenAPI document's schema for this answer."""
    doc = document()
    responses = doc["paths"][path][method.lower()]["responses"]
    schema = responses[str(status)]["content"]["application/json"]["schema"]
    jsonschema.Draft202012Validator({**schema, "components": doc["components"]}).validate(body)

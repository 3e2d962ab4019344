"""Automation written for On-Prem's REST API runs unchanged: its bodies, status codes and paths."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from flask import Flask
from flask.testing import FlaskClient

from satellite.actor import Actor
from satellite.config import Settings
from satellite.tokens.secrets import TokenSealer
from satellite.uow import Database
from tests.devices.helpers import make_site, make_token
from tests.web.conftest import conforms

LAB = "/api/v1/accounts/Acme/virtual-accounts/Lab"
V = "/api/v1/accounts/{account}/virtual-accounts/{va}"
NULL = {"data": b"null", "content_type": "application/json"}


@pytest.fixture
def admin(db: Database, actor: Actor, bearer: Callable[..., dict[str, str]]) -> dict[str, str]:
    make_site(db, actor)
    return bearer("Acme")


@pytest.mark.parametrize("body", [NULL, {"data": b'{"limit": 1', "content_type": "application/json"},
                                  {"data": b"[1, 2]", "content_type": "application/json"},
                                  {"data": b"\x00binary", "content_type": "text/plain"}],
                         ids=["null", "broken", "array", "binary"])
def test_a_get_ignores_whatever_body_it_carries(client: FlaskClient, admin: dict[str, str],
                                                body: dict[str, object]) -> None:
    for path in (LAB + "/devices", LAB + "/tokens", "/api/v1/accounts/Acme/licenses",
                 "/api/v1/accounts/Acme/virtual-accounts", "/api/v1/accounts/Acme/alerts",
                 "/api/v1/accounts"):
        answer = client.get(path, headers=admin, **body)  # type: ignore[arg-type]
        assert answer.status_code == 200, (path, answer.json)


def test_a_json_null_body_is_an_empty_one(client: FlaskClient, admin: dict[str, str]) -> None:
    listed = client.post("/api/v1/accounts/Acme/licenses", headers=admin, **NULL)  # type: ignore[arg-type]
    assert listed.status_code == 200, listed.json
    assert listed.json["totalRecords"] == 2
    # A GET narrows by the query string instead.
    narrowed = client.get("/api/v1/accounts/Acme/licenses?virtualAccounts=Spare", headers=admin,
                          **NULL)  # type: ignore[arg-type]
    assert narrowed.json["totalRecords"] == 0
    # Where the body must name something, null names nothing: a 400 naming the field.
    made = client.post(LAB + "/tokens/revoke", headers=admin, **NULL)  # type: ignore[arg-type]
    assert made.status_code == 400 and "tokens" in made.json["statusMessage"]
    broken = client.post("/api/v1/accounts/Acme/licenses", headers=admin, data=b"{nope",
                         content_type="application/json")
    assert broken.status_code == 400


def test_creations_answer_200_as_on_prem_does(client: FlaskClient, admin: dict[str, str]) -> None:
    token = client.post(LAB + "/tokens", headers=admin, json={"description": "ansible"})
    assert token.status_code == 200, token.json
    conforms(token.json, V + "/tokens", "post", 200)
    va = client.post("/api/v1/accounts/Acme/virtual-accounts", headers=admin,
                     json={"name": "Racks"})
    assert va.status_code == 200
    api_client = client.post("/api/v1/accounts/Acme/api-clients", headers=admin,
                             json={"role": "account_viewer"})
    assert api_client.status_code == 200
    # No success anywhere in the API is documented as anything but 200.
    doc = client.get("/api/openapi.json").json
    successes = {code for ops in doc["paths"].values() for name, op in ops.items()
                 if name != "parameters" for code in op["responses"] if code.startswith("2")}
    assert successes == {"200"}


def test_the_api_is_served_under_backend_with_the_same_auth(
        app: Flask, client: FlaskClient, db: Database, actor: Actor, settings: Settings,
        make_client: Callable[..., tuple[str, str]]) -> None:
    make_site(db, actor)
    secret = make_token(db, actor, TokenSealer.for_data_dir(settings.data_dir))
    client_id, client_secret = make_client("Acme", "account_viewer")
    issued = client.post("/backend/oauth/token", json={
        "grant_type": "client_credentials", "client_id": client_id,
        "client_secret": client_secret})
    h = {"Authorization": f"Bearer {issued.json['access_token']}"}

    listed = client.get("/backend" + LAB + "/tokens", headers=h, **NULL)  # type: ignore[arg-type]
    assert listed.status_code == 200, listed.json
    assert [t["token"] for t in listed.json["tokens"]] == [secret]
    assert client.get("/backend" + LAB + "/devices", headers=h).json["totalRecords"] == 0
    # On-Prem clients also list devices by POST, paging in the body.
    posted = client.post("/backend" + LAB + "/devices", headers=h, json={"limit": 10, "offset": 0})
    assert posted.status_code == 200 and posted.json == {"totalRecords": 0, "devices": []}
    # The same rights: a viewer may not create, and no token is no answer.
    assert client.post("/backend" + LAB + "/tokens", headers=h, json={}).status_code == 403
    assert client.get("/backend" + LAB + "/tokens").status_code == 401
    assert client.get("/backend/api/v1/accounts/Nope/licenses", headers=h).status_code == 404
    assert client.post("/backend/oauth/revoke", json={"token": issued.json["access_token"]}
                       ).status_code == 200
    assert client.get("/backend" + LAB + "/tokens", headers=h).status_code == 401

    # Every API route has its /backend twin, answering 401 without a token.
    rules = [re.sub(r"<(?:\w+:)?(\w+)>", "x", r.rule) for r in app.url_map.iter_rules()]
    api = [r for r in rules if r.startswith("/api/v1/")]
    assert len(api) >= 30 and all("/backend" + r in rules for r in api)

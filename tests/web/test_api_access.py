"""Every endpoint needs a token; callers without rights get 403 or 404; tokens and clients."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from openapi_spec_validator import validate

from satellite.access.apiclients import TOKEN_REQUESTS_PER_MINUTE
from satellite.accounts.service import create_account
from satellite.actor import Actor
from satellite.clock import FixedClock
from satellite.config import Settings
from satellite.uow import Database
from satellite.web import create_app
from satellite.web.openapi import document
from tests.web.conftest import conforms

PUBLIC = {"/oauth/token", "/oauth/revoke", "/api/openapi.json", "/healthz", "/readyz"}


def _served(app: Flask, prefix: str = "") -> set[tuple[str, str]]:
    """(path, method) of the API routes served under `prefix`, named without it."""
    found = set()
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule)
        if prefix and not path.startswith(prefix + "/"):
            continue
        path = path.removeprefix(prefix)
        if path.startswith(("/api/v1", "/oauth")):
            found |= {(path, m.lower()) for m in rule.methods or () if m not in ("HEAD", "OPTIONS")}
    return found


def _routes(app: Flask) -> set[tuple[str, str]]:
    return _served(app)


@pytest.fixture
def acme(db: Database, actor: Actor) -> None:
    with db.uow() as uow:
        create_account(uow, actor, "Acme", "acme.example.com")
        create_account(uow, actor, "Globex", "globex.example.com")
        uow.commit()


def test_the_openapi_document_is_valid_and_names_exactly_the_served_routes(
        app: Flask, client: FlaskClient) -> None:
    served = client.get("/api/openapi.json").json
    validate(served)
    documented = {(path, method) for path, ops in served["paths"].items()
                  for method in ops if method != "parameters"}
    assert documented == _routes(app)
    # ... and every one of them again under On-Prem's /backend, as the document's servers say.
    assert [s["url"] for s in served["servers"]] == ["/", "/backend"]
    assert _served(app, "/backend") == documented


def test_every_endpoint_answers_401_without_a_valid_token(app: Flask, client: FlaskClient) -> None:
    checked = 0
    for path, method in sorted(_routes(app)):
        if path in PUBLIC:
            continue
        url = path.replace("{request_id}", "1").replace("{rule_id}", "1")
        url = re.sub(r"\{\w+\}", "x", url)
        for headers in ({}, {"Authorization": "Bearer not-a-token"},
                        {"Authorization": "Basic Zm9vOmJhcg=="}):
            answer = client.open(url, method=method.upper(), json={}, headers=headers)
            assert answer.status_code == 401, (method, url, headers)
            assert answer.json["status"] == "ERROR"
            assert answer.headers["WWW-Authenticate"].startswith("Bearer")
            conforms(answer.json, path, method, 401)
        checked += 1
    assert checked >= 30


def test_tokens_from_both_endpoints_json_and_form_and_both_grants(
        db: Database, actor: Actor, client: FlaskClient, acme: None,
        make_client: Callable[..., tuple[str, str]]) -> None:
    from satellite.access.grants import grant
    from satellite.users.service import create_user

    with db.uow() as uow:
        create_user(uow, actor, "alice", "violet-kestrel-42-river")
        grant(uow, actor, "alice", "account_viewer", "Globex")
        uow.commit()
    client_id, secret = make_client("Acme")
    creds = {"client_id": client_id, "client_secret": secret}
    json_answer = client.post("/oauth/token", json={"grant_type": "client_credentials", **creds})
    form_answer = client.post("/backend/oauth/token", data={
        "grant_type": "password", "username": "alice", "password": "violet-kestrel-42-river",
        **creds})
    for answer in (json_answer, form_answer):
        assert answer.status_code == 200
        conforms(answer.json, "/oauth/token", "post", 200)
        assert answer.json["token_type"] == "bearer" and answer.json["expires_in"] == 3600
    # On-Prem's own examples send the fields in the query string, with no body.
    query_answer = client.post("/backend/oauth/token?grant_type=client_credentials"
                               f"&client_id={client_id}&client_secret={secret}")
    assert query_answer.status_code == 200, query_answer.json
    assert client.get("/api/v1/accounts", headers={
        "Authorization": f"Bearer {query_answer.json['access_token']}"}).status_code == 200
    wrong = client.post(f"/oauth/token?grant_type=client_credentials&client_id={client_id}"
                        "&client_secret=not-it")
    assert wrong.status_code == 401
    as_client = {"Authorization": f"Bearer {json_answer.json['access_token']}"}
    as_alice = {"Authorization": f"Bearer {form_answer.json['access_token']}"}
    # The client acts in its account; the password grant acts with the user's own rights.
    assert [a["name"] for a in client.get("/api/v1/accounts", headers=as_client).json[
        "accounts"]] == ["Acme"]
    assert [a["name"] for a in client.get("/api/v1/accounts", headers=as_alice).json[
        "accounts"]] == ["Globex"]
    assert client.get("/api/v1/me", headers=as_alice).json["name"] == "alice"
    wrong = client.post("/oauth/token", json={"grant_type": "password", "username": "alice",
                                              "password": "not her password", **creds})
    assert wrong.status_code == 401
    with db.reader() as uow:
        from satellite.audit.service import list_events

        actors = {e.actor for e in list_events(uow.session, action="apiclient.token")}
    assert actors == {f"apiclient:{client_id}", f"user:alice via apiclient:{client_id}"}


def test_tokens_expire_and_are_revoked_with_their_client(
        db: Database, client: FlaskClient, clock: FixedClock, acme: None,
        make_client: Callable[..., tuple[str, str]],
        bearer: Callable[..., dict[str, str]]) -> None:
    headers = bearer("Acme")
    assert client.get("/api/v1/accounts", headers=headers).status_code == 200
    clock.advance(timedelta(hours=1))
    expired = client.get("/api/v1/accounts", headers=headers)
    assert expired.status_code == 401 and "expired" in expired.json["statusMessage"]

    headers = bearer("Acme")
    token = headers["Authorization"].split()[1]
    assert client.post("/oauth/revoke", json={"token": token}).status_code == 200
    assert client.get("/api/v1/accounts", headers=headers).status_code == 401

    admin = bearer("Acme")
    client_id, secret = make_client("Acme")
    issued = client.post("/oauth/token", json={"grant_type": "client_credentials",
                                               "client_id": client_id, "client_secret": secret})
    held = {"Authorization": f"Bearer {issued.json['access_token']}"}
    revoked = client.post(f"/api/v1/accounts/Acme/api-clients/{client_id}/revoke", headers=admin)
    assert revoked.status_code == 200 and revoked.json["apiClients"][0]["revoked"]
    assert client.get("/api/v1/accounts", headers=held).status_code == 401
    again = client.post("/oauth/token", json={"grant_type": "client_credentials",
                                              "client_id": client_id, "client_secret": secret})
    assert again.status_code == 401


def test_token_requests_are_rate_limited(client: FlaskClient, clock: FixedClock, acme: None,
                                         settings: Settings, db: Database,
                                         make_client: Callable[..., tuple[str, str]]) -> None:
    client_id, _ = make_client("Acme")
    body = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": "guess"}
    codes = [client.post("/oauth/token", json=body).status_code
             for _ in range(TOKEN_REQUESTS_PER_MINUTE + 1)]
    assert codes == [401] * TOKEN_REQUESTS_PER_MINUTE + [429]
    # Another node on the same database counts the same attempts.
    other_node = create_app(settings, db).test_client()
    limited = other_node.post("/oauth/token", json=body)
    assert limited.status_code == 429
    assert int(limited.headers["Retry-After"]) >= 1
    clock.advance(timedelta(minutes=1))
    assert client.post("/oauth/token", json=body).status_code == 401


def test_callers_without_rights_get_404_or_403(client: FlaskClient, acme: None,
                                               bearer: Callable[..., dict[str, str]]) -> None:
    globex = bearer("Globex")
    hidden = client.get("/api/v1/accounts/Acme/virtual-accounts", headers=globex)
    missing = client.get("/api/v1/accounts/Nowhere/virtual-accounts", headers=globex)
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json["statusMessage"] == "no account named 'Acme' (give its name or domain " \
        "identifier)"
    viewer = bearer("Acme", "account_viewer")
    refused = client.post("/api/v1/accounts/Acme/virtual-accounts", json={"name": "Lab"},
                          headers=viewer)
    assert refused.status_code == 403
    conforms(refused.json, "/api/v1/accounts/{account}/virtual-accounts", "post", 403)
    assert client.get("/api/v1/users", headers=viewer).status_code == 403
    assert client.post("/api/v1/accounts", json={"name": "Mine", "domain": "mine.example.com"},
                       headers=viewer).status_code == 403


def test_the_document_is_served_without_a_token(client: FlaskClient) -> None:
    answer = client.get("/api/openapi.json")
    assert answer.status_code == 200 and answer.json == document()


def test_an_error_about_one_input_names_it_in_the_json_body(
        client: FlaskClient, acme: None, bearer: Callable[..., dict[str, str]]) -> None:
    admin = bearer("Acme")
    vas = "/api/v1/accounts/Acme/virtual-accounts"
    taken = client.post(vas, headers=admin, json={"name": "Default"})
    assert taken.status_code == 409
    assert taken.json["field"] == "name" and "already has" in taken.json["statusMessage"]
    conforms(taken.json, "/api/v1/accounts/{account}/virtual-accounts", "post", 409)
    nowhere = client.post(vas, headers=admin, json={"name": "Edge", "parent": "Nowhere"})
    assert nowhere.status_code == 404 and nowhere.json["field"] == "parent"
    paging = client.get("/api/v1/accounts/Acme/licenses?limit=0", headers=admin)
    assert paging.status_code == 400 and paging.json["field"] == "limit"
    # An error about no one input says nothing of a field.
    shape = client.post(vas, headers=admin, json=[1])
    assert shape.status_code == 400 and "field" not in shape.json

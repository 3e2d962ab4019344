"""Every JSON endpoint fuzzed with hostile bodies: never a 500, always a JSON answer.

The endpoints are read from the app's URL map (REST API, /oauth/*, /backend/*, the device
protocol), so a new endpoint is fuzzed without touching this file. REST calls carry a system
administrator's bearer token and device calls signature headers, so the bodies reach the
handlers rather than stopping at authentication. Runs on every engine (the `db` fixture).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import urlencode

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import strategies as st

from satellite.accounts.service import create_va
from satellite.actor import Actor
from satellite.uow import Database
from satellite.users.service import create_user
from tests.devices.fixtures import app, authority, sealer, site, transport
from tests.devices.helpers import Site
from tests.fuzzing import fuzz_settings, hostile_bodies, hostile_numbers, hostile_text

# The device protocol's fixtures (this folder's conftest serves the web UI's app).
__all__ = ["app", "authority", "sealer", "site", "transport"]
JSON_PREFIXES = ("/api/", "/oauth/", "/backend/")
# Values for the URL's variables: names that exist, so the handlers run past their lookups.
PATH_VALUES = {"account": "Acme", "va": "Lab", "username": "root", "client_id": "x",
               "request_id": "1", "udi": "PID:C9300-24T,SN:FOC1", "kind": "licenses",
               "line": "H1", "rule_id": "1",
               "license": "regid.2024-01.com.example.router-advantage"}
PASSWORD = "violet-kestrel-42-river"
SIGNED = {"X-Satellite-Key-Id": "0123456789abcdef", "X-Satellite-Signature": "A" * 86 + "=="}


def json_endpoints(app: Flask, method: str = "POST") -> list[str]:
    found = set()
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith(JSON_PREFIXES) and method in (rule.methods or ()):
            found.add(re.sub(r"<(?:[a-z]+:)?([a-z_]+)>",
                             lambda m: PATH_VALUES[m.group(1)], rule.rule))
    if method == "POST":
        # The device check-in is served in front of Flask, so it is not in the URL map.
        found.add("/api/device/v1/usage")
    return sorted(found)


def test_every_json_endpoint_is_fuzzed(app: Flask) -> None:
    endpoints = json_endpoints(app)
    assert {"/oauth/token", "/backend/oauth/token", "/oauth/revoke", "/api/device/v1/register",
            "/api/device/v1/usage", "/api/v1/accounts"} <= set(endpoints)
    assert len(endpoints) > 25


def _admin_headers(client: FlaskClient, db: Database, make_client: Callable[..., tuple[str, str]]
                   ) -> dict[str, str]:
    with db.uow() as uow:
        create_user(uow, Actor("cli", "t"), "root", PASSWORD, system_admin=True)
        create_va(uow, Actor("cli", "t"), "Acme", "Child", parent="Lab")
        uow.commit()
    client_id, secret = make_client("Acme")
    answer = client.post("/oauth/token", json={
        "grant_type": "password", "client_id": client_id, "client_secret": secret,
        "username": "root", "password": PASSWORD})
    assert answer.status_code == 200, answer.json
    return {"Authorization": f"Bearer {answer.json['access_token']}"}


def test_no_json_endpoint_answers_500_to_hostile_bodies(
        app: Flask, client: FlaskClient, db: Database, site: Site,
        make_client: Callable[..., tuple[str, str]]) -> None:
    headers = _admin_headers(client, db, make_client)
    endpoints = json_endpoints(app)

    @fuzz_settings(150)
    @given(path=st.sampled_from(endpoints), body=hostile_bodies,
           content_type=st.sampled_from(["application/json", "text/plain", ""]))
    def check(path: str, body: bytes, content_type: str) -> None:
        sent = {**(SIGNED if path.startswith("/api/device/") else headers)}
        if content_type:
            sent["Content-Type"] = content_type
        answer = client.post(path, data=body, headers=sent)
        assert answer.status_code < 500, (path, body[:200], answer.get_data(as_text=True)[:300])
        if answer.status_code >= 400:
            assert answer.mimetype == "application/json", (path, answer.status_code)
            assert answer.get_json()["status"] == "ERROR"

    check()


@pytest.mark.parametrize("path", ["/oauth/token", "/api/device/v1/register",
                                  "/api/device/v1/usage", "/api/v1/accounts"])
def test_the_worst_known_bodies_on_each_kind_of_endpoint(
        client: FlaskClient, db: Database, site: Site, path: str,
        make_client: Callable[..., tuple[str, str]]) -> None:
    from tests.fuzzing import deep
    headers = SIGNED if path.startswith("/api/device/") else _admin_headers(client, db, make_client)
    for body in (deep(30_000), deep(5_000, "{"), b'{"a":' + b"9" * 4400 + b"}", b'{"a":1e308}',
                 b'{"client_id":"\\ud800","udi":{"pid":"\\u0000"}}', b'{"a":NaN}'):
        answer = client.post(path, data=body[:60_000],
                             headers={**headers, "Content-Type": "application/json"})
        assert 400 <= answer.status_code < 500, (body[:60], answer.get_data(as_text=True))


QUERY_NAMES = ["limit", "offset", "search", "tag", "status", "as_of", "account", "va", "action",
               "include_cleared", "state"]


def test_no_json_endpoint_answers_500_to_hostile_query_strings(
        app: Flask, client: FlaskClient, db: Database, site: Site,
        make_client: Callable[..., tuple[str, str]]) -> None:
    headers = _admin_headers(client, db, make_client)
    endpoints = json_endpoints(app, "GET")

    @fuzz_settings(100)
    @given(path=st.sampled_from(endpoints), query=st.dictionaries(
        st.sampled_from(QUERY_NAMES) | hostile_text,
        hostile_text | hostile_numbers.map(str), max_size=3))
    def check(path: str, query: dict[str, str]) -> None:
        # As raw bytes: what a client sends for a lone surrogate.
        raw = urlencode({k.encode("utf-8", "surrogatepass"): v.encode("utf-8", "surrogatepass")
                         for k, v in query.items()})
        answer = client.get(path, query_string=raw, headers=headers)
        assert answer.status_code < 500, (path, query, answer.get_data(as_text=True)[:300])

    check()

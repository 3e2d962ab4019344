"""Every route of the URL map, called by someone who is not signed in (from a LAN address,
with a CSRF token of their own anonymous session): only the documented public endpoints answer
2xx, and no table but the security bookkeeping (audit trail, rate and sign-in counters)
changes."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from satellite.access.apiclients import create_client
from satellite.actor import Actor
from satellite.db import Base
from satellite.tokens.secrets import TokenSealer
from satellite.tokens.service import create_token
from satellite.uow import Database
from tests.web.ui.conftest import csrf_token

# The documented public endpoints (docs/security.md). Revoking a bearer token answers 200
# whether or not the token was known (RFC 7009): holding the token is the proof.
PUBLIC = {"GET /healthz", "GET /readyz", "GET /sign-in", "GET /static/<path:filename>",
          "GET /api/openapi.json", "GET /api/device/v1/ca", "POST /oauth/revoke",
          "POST /backend/oauth/revoke"}
# What an unauthenticated attempt may write: its audit event and the counters that limit it.
BOOKKEEPING = {"audit_events", "audit_head", "rate_buckets", "sign_in_throttles"}
LAN = {"REMOTE_ADDR": "192.0.2.50"}


def _snapshot(db: Database) -> dict[str, list[tuple[Any, ...]]]:
    with db.reader() as uow:
        return {table.name: sorted(map(tuple, uow.session.execute(select(table))), key=repr)
                for table in Base.metadata.sorted_tables if table.name not in BOOKKEEPING}


def _url(rule: str, values: dict[str, str]) -> str:
    return re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", lambda m: values[m.group(1)], rule)


@pytest.fixture
def populated(db: Database, settings: Any) -> dict[str, str]:
    with db.uow() as uow:
        client, _ = create_client(uow, Actor("cli", "t"), "acme.example.com")
        create_token(uow, Actor("cli", "t"), TokenSealer.for_data_dir(settings.data_dir),
                     "acme.example.com", "Lab")
        uow.commit()
        return {"account": "acme.example.com", "va": "Lab", "udi": "PID:C9300-24T,SN:FOC1",
                "request_id": "1", "token_id": "1", "client_id": client.client_id,
                "username": "admin", "filename": "app.css", "name": "ops", "kind": "licenses",
                "fmt": "csv", "line": "H1", "rule_id": "1",
                "license": "regid.2024-01.com.example.router-advantage"}


def test_nothing_but_the_public_endpoints_answers_or_changes_anything(
        app: Flask, db: Database, populated: dict[str, str]) -> None:
    anonymous = app.test_client()
    token = csrf_token(anonymous.get("/sign-in", environ_base=LAN).get_data(as_text=True))
    form = {"csrf_token": token, "name": "x", "username": "admin", "role": "account_admin",
            "target": "Lab", "account": "acme.example.com", "parent": "", "reason": "x",
            "licenses": "regid.x=1", "request_code": "x", "password": "x" * 16,
            "description": "x", "approve": "1", "disabled": "1"}
    body = {"grant_type": "client_credentials", "client_id": populated["client_id"],
            "client_secret": "guess", "name": "x", "domain": "x.example.com",
            "userName": "admin", "role": "account_admin", "token": "x"}
    before = _snapshot(db)
    answered: list[str] = []
    for rule in app.url_map.iter_rules():
        url = _url(rule.rule, populated)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            calls = [{"data": form}, {"json": body}] if method == "POST" else [{}]
            for extra in calls:
                response = anonymous.open(url, method=method, environ_base=LAN, **extra)
                response.close()
                if 200 <= response.status_code < 300:
                    answered.append(f"{method} {rule.rule}")
                assert response.status_code < 500, (method, url, response.status_code)
    # Usage reports are served in front of Flask (device_usage.py), outside the URL map.
    usage = anonymous.post("/api/device/v1/usage", json=body, environ_base=LAN)
    assert 400 <= usage.status_code < 500
    assert sorted(set(answered)) == sorted(PUBLIC)
    assert _snapshot(db) == before

"""Schemathesis against the app: generated calls from the OpenAPI document, answers checked."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from satellite.accounts.service import create_account
from satellite.actor import Actor
from satellite.uow import Database
from satellite.users.service import create_user

# Business rules (domain syntax, password policy, existing names) are not all in the schemas,
# so a schema-valid call may rightly get 400/409; every other built-in check applies.

EXAMPLES_PER_OPERATION = 8
PASSWORD = "violet-kestrel-42-river"


@pytest.mark.sqlite_only
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_generated_calls_get_documented_answers(
        app: Flask, db: Database, actor: Actor,
        make_client: Callable[..., tuple[str, str]]) -> None:
    with db.uow() as uow:
        create_account(uow, actor, "Acme", "acme.example.com")
        create_user(uow, actor, "root", PASSWORD, system_admin=True)
        uow.commit()
    client_id, secret = make_client("Acme")
    token = app.test_client().post("/oauth/token", data={
        "grant_type": "password", "client_id": client_id, "client_secret": secret,
        "username": "root", "password": PASSWORD}).json["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        @given(case=operation.as_strategy())
        def check(case: object) -> None:
            case.call_and_validate(  # type: ignore[attr-defined]
                headers=headers, excluded_checks=[positive_data_acceptance])

        try:
            check()
        except Exception as exc:  # collect every operation's failure, then report them all
            failures.append(f"{operation.label}: {exc}")
    assert failures == []

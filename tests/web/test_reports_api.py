"""REST downloads of the lists, and the audit search, through bearer tokens."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable

from flask.testing import FlaskClient
from werkzeug.datastructures import MultiDict

from satellite.accounts.service import create_account
from satellite.actor import Actor
from satellite.audit.service import record
from satellite.uow import Database
from satellite.web.downloads import filters_from
from tests.web.conftest import conforms


def _account(db: Database, actor: Actor) -> None:
    with db.uow() as uow:
        create_account(uow, actor, "Acme", "acme.example.com")
        record(uow, Actor("user", "alice"), "license.transfer", "@SUM(1)", account_id=None)
        uow.commit()


def test_reports_download_as_csv_or_json(client: FlaskClient, db: Database, actor: Actor,
                                         bearer: Callable[..., dict[str, str]]) -> None:
    _account(db, actor)
    auth = bearer("acme.example.com")
    answer = client.get("/api/v1/accounts/acme.example.com/reports/licenses", headers=auth)
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    header = next(csv.reader(io.StringIO(answer.get_data(as_text=True))))
    assert header[:3] == ["account", "virtual_account", "license"]
    answer = client.get("/api/v1/accounts/acme.example.com/reports/product-instances"
                        "?format=json&status=Authorized", headers=auth)
    assert answer.json == {"product-instances": []}
    bad = client.get("/api/v1/accounts/acme.example.com/reports/licenses?format=xml",
                     headers=auth)
    assert bad.status_code == 400 and "format" in bad.get_data(as_text=True)
    # Operators' tags narrow the lists, repeated or in one value; a bad one is refused.
    for query in ("tag=rack-4&tag=edge", "tag=rack-4+edge", "tag=rack-4,edge"):
        answer = client.get("/api/v1/accounts/acme.example.com/reports/product-instances"
                            f"?format=json&{query}", headers=auth)
        assert answer.json == {"product-instances": []}, query
    bad = client.get("/api/v1/accounts/acme.example.com/reports/reservations?tag=no!", headers=auth)
    assert bad.status_code == 400 and "tag" in bad.json["error"]
    # The whole appliance's audit log is for system administrators only.
    assert client.get("/api/v1/reports/audit-log", headers=auth).status_code == 403
    assert client.get("/api/v1/reports/licenses").status_code == 401


def test_the_audit_api_searches(client: FlaskClient, db: Database, actor: Actor,
                                bearer: Callable[..., dict[str, str]]) -> None:
    _account(db, actor)
    auth = bearer("acme.example.com")
    with db.uow() as uow:
        record(uow, Actor("user", "bob"), "device.remove", "PID:A,SN:1",
               account_id=_acme_id(db))
        record(uow, Actor("user", "alice"), "license.transfer", "Lab", account_id=_acme_id(db))
        uow.commit()
    answer = client.get("/api/v1/audit?account=acme.example.com&user=bob", headers=auth)
    assert answer.status_code == 200, answer.json
    conforms(answer.json, "/api/v1/audit", "get", 200)
    assert [e["target"] for e in answer.json["events"]] == ["PID:A,SN:1"]
    assert all(not e["at"].count(".") for e in answer.json["events"])
    bad = client.get("/api/v1/audit?account=acme.example.com&since=soon", headers=auth)
    assert bad.status_code == 400


def _acme_id(db: Database) -> int:
    from satellite.accounts.service import get_account
    with db.reader() as uow:
        return get_account(uow.session, "acme.example.com").id


def test_download_filters_read_tags_repeated_or_in_one_value() -> None:
    args = MultiDict([("tag", "rack-4, edge"), ("tag", "core"), ("va", " Lab "), ("q", "")])
    found = filters_from(args, "acme.example.com")
    assert found.tags == ("rack-4", "edge", "core")
    assert (found.account, found.va, found.text) == ("acme.example.com", "Lab", None)
    assert filters_from(MultiDict(), None).tags == ()

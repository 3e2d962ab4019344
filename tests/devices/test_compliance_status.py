"""Devices that over-use or use unlicensed tags: what the pools, devices and alerts then show."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient

from satellite.actor import Actor
from satellite.clock import FixedClock
from satellite.devices.service import list_devices, show_device
from satellite.licenses.service import list_licenses
from satellite.tokens.secrets import TokenSealer
from satellite.uow import Database
from tests.devices.helpers import TAG, FlaskTransport, Site, add_lines, make_token
from tests.devices.test_protocol import registered
from tests.web.conftest import bearer, make_client  # noqa: F401  (fixtures)

UNKNOWN = "regid.2024-01.com.example.never-bought"


@pytest.fixture
def client(transport: FlaskTransport) -> FlaskClient:
    return transport.client


def _statuses(db: Database) -> dict[str, str]:
    with db.reader() as uow:
        rows = list_devices(uow.session, Actor.local_operator(), account="Acme", limit=None).rows
    return {row["sn"]: row["status"] for row in rows}


def _alerts(client: FlaskClient, headers: dict[str, str]) -> list[dict[str, object]]:
    answer = client.get("/api/v1/accounts/acme.example.com/alerts", headers=headers)
    assert answer.status_code == 200, answer.json
    return [a for a in answer.json["alerts"] if a["messageType"] == "OUT_OF_COMPLIANCE"]


def test_over_use_is_a_major_alert_and_every_device_follows_its_pool(
        db: Database, actor: Actor, sealer: TokenSealer, site: Site, clock: FixedClock,
        transport: FlaskTransport, bearer: Callable[..., dict[str, str]]) -> None:  # noqa: F811
    token = make_token(db, actor, sealer)
    devices = [registered(transport, clock, token, f"D{n}") for n in range(7)]
    for d in devices[:5]:
        assert d.report({TAG: 1})["status"] == "AUTHORIZED"
    h = bearer("Acme", "account_viewer")
    assert _alerts(transport.client, h) == []
    for d in devices[5:]:
        assert d.report({TAG: 1})["status"] == "OUT_OF_COMPLIANCE"
    # Monitoring polling On-Prem's alert list sees one Major alert while the pool is short.
    (alert,) = _alerts(transport.client, h)
    assert alert["severity"] == "Major" and "short by 2" in str(alert["message"])
    # Every device consuming the short pool is Out Of Compliance, not only those that called last.
    assert set(_statuses(db).values()) == {"Out Of Compliance"}

    with db.uow() as uow:
        add_lines(uow.session, site.va_id, TAG, 2)  # licenses arrive
        uow.commit()
    assert _alerts(transport.client, h) == []
    # No device has called since: each shows what its pool gives now.
    assert set(_statuses(db).values()) == {"Authorized"}


def test_unlicensed_use_is_recorded_listed_out_of_compliance_and_alerted(
        db: Database, actor: Actor, sealer: TokenSealer, site: Site, clock: FixedClock,
        transport: FlaskTransport, bearer: Callable[..., dict[str, str]]) -> None:  # noqa: F811
    token = make_token(db, actor, sealer)
    for n in range(20):
        answer = registered(transport, clock, token, f"U{n}").report({UNKNOWN: 1, TAG: 0})
        assert {t["tag"]: t["status"] for t in answer["tags"]}[UNKNOWN] == "NOT_AUTHORIZED"
    with db.reader() as uow:
        page = list_licenses(uow.session, Actor.local_operator(), clock.now().date(), "Acme",
                             va_names=["Lab"], limit=None)
        shown = show_device(uow.session, Actor.local_operator(), "PID:C9300-24T,SN:U3")
    row = next(r for r in page.rows if r.counter.tag == UNKNOWN)
    assert (row.counter.quantity, row.counter.in_use, row.counter.status) == (
        0, 20, "Out Of Compliance")
    assert shown["usage"] == {UNKNOWN: 1} and shown["status"] == "Out Of Compliance"
    (alert,) = _alerts(transport.client, bearer("Acme", "account_viewer"))
    assert alert["severity"] == "Major" and "unlicensed" in str(alert["message"])
    # The UI's license list and dashboard show it too.
    listed = transport.client.get("/api/v1/accounts/Acme/licenses?limit=-1",
                                  headers=bearer("Acme", "account_viewer")).json
    assert {(r["license"], r["quantity"], r["status"]) for r in listed["licenses"]} >= {
        (UNKNOWN, 0, "Out Of Compliance")}

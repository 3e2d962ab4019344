"""REST answers for classic licenses match the OpenAPI document; viewers may read, not act."""

from __future__ import annotations

from collections.abc import Callable

from flask.testing import FlaskClient
from sqlalchemy import select

from satellite.accounts.models import Account
from satellite.accounts.service import create_account, create_va, find_va
from satellite.actor import Actor
from satellite.licenses.classic_models import ClassicLicense
from satellite.uow import Database
from tests.web.conftest import conforms

A = "/api/v1/accounts/{account}"
ACME = "/api/v1/accounts/acme.example.com"


def _acme(db: Database, actor: Actor) -> None:
    with db.uow() as uow:
        create_account(uow, actor, "Acme", "acme.example.com")
        create_va(uow, actor, "Acme", "Lab")
        account_id = uow.session.scalar(select(Account.id).where(Account.name == "Acme"))
        assert account_id is not None
        # Test data: in production classic licenses arrive only from Central.
        uow.session.add(ClassicLicense(
            account_id=account_id, va_id=find_va(uow.session, "Acme", "Lab")[1].id, pak="P1",
            sku="S1", tag="regid.t", quantity=3, converted=1, device_udi="",
            imported_at=uow.clock.now()))
        uow.commit()


def test_answers_match_the_document(client: FlaskClient, db: Database, actor: Actor,
                                    bearer: Callable[..., dict[str, str]]) -> None:
    _acme(db, actor)
    h = bearer("Acme")
    listed = client.get(f"{ACME}/classic-licenses", headers=h)
    assert listed.status_code == 200 and listed.json["classicLicenses"][0]["convertible"] == 2
    conforms(listed.json, A + "/classic-licenses", "get", 200)
    moved = client.post(f"{ACME}/classic-licenses/transfer", headers=h, json={
        "pak": "P1", "sku": "S1", "targetVirtualAccount": "Default"})
    assert moved.status_code == 200, moved.json
    conforms(moved.json, A + "/classic-licenses/transfer", "post", 200)
    asked = client.post(f"{ACME}/classic-licenses/convert", headers=h, json={
        "pak": "P1", "sku": "S1", "quantity": 2})
    assert asked.status_code == 200 and asked.json["conversion"]["virtualAccount"] == "Default"
    conforms(asked.json, A + "/classic-licenses/convert", "post", 200)
    more = client.post(f"{ACME}/classic-licenses/convert", headers=h, json={
        "pak": "P1", "sku": "S1", "quantity": 1})
    assert more.status_code == 409 and "0 left to convert" in more.json["error"]
    conversions = client.get(f"{ACME}/classic-conversions", headers=h)
    conforms(conversions.json, A + "/classic-conversions", "get", 200)
    assert [c["status"] for c in conversions.json["conversions"]] == ["Pending"]
    bad = client.post(f"{ACME}/classic-licenses/convert", headers=h, json={
        "pak": "P1", "sku": "S1", "quantity": "two"})
    assert bad.status_code == 400 and "error" in bad.json


def test_a_viewer_reads_but_may_not_transfer_or_convert(
        client: FlaskClient, db: Database, actor: Actor,
        bearer: Callable[..., dict[str, str]]) -> None:
    _acme(db, actor)
    h = bearer("Acme", "account_viewer")
    assert client.get(f"{ACME}/virtual-accounts/Lab/classic-licenses",
                      headers=h).json["totalRecords"] == 1
    for path, body in (("transfer", {"pak": "P1", "sku": "S1",
                                     "targetVirtualAccount": "Default"}),
                       ("convert", {"pak": "P1", "sku": "S1", "quantity": 1})):
        refused = client.post(f"{ACME}/classic-licenses/{path}", headers=h, json=body)
        assert refused.status_code == 403, refused.json
    other = bearer("Acme")  # an account's client sees nothing of another account
    with db.uow() as uow:
        create_account(uow, actor, "Globex", "globex.example.com")
        uow.commit()
    assert client.get("/api/v1/accounts/globex.example.com/classic-licenses",
                      headers=other).status_code == 404

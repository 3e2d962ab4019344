"""REST: a Pending account, its held lines, its activation; lines held for no account."""

from __future__ import annotations

from collections.abc import Callable

from flask.testing import FlaskClient

from satellite.accounts.service import create_account
from satellite.actor import Actor
from satellite.cloudsync.entitlements import apply_entitlements
from satellite.cloudsync.records import Entitlement
from satellite.uow import Database
from satellite.users.service import create_user
from tests.web.conftest import conforms

A = "/api/v1/accounts/{account}"
TAG = "regid.2024-01.com.example.router-advantage"
PASSWORD = "violet-kestrel-42-river"


def _admin(db: Database, actor: Actor, client: FlaskClient,
           make_client: Callable[..., tuple[str, str]]) -> dict[str, str]:
    with db.uow() as uow:
        create_account(uow, actor, "Acme", "acme.example.com")
        root = create_user(uow, actor, "root", PASSWORD, system_admin=True)
        root.must_change_password = False
        uow.commit()
    client_id, secret = make_client("Acme")
    answer = client.post("/oauth/token", json={
        "grant_type": "password", "username": "root", "password": PASSWORD,
        "client_id": client_id, "client_secret": secret})
    assert answer.status_code == 200, answer.json
    return {"Authorization": f"Bearer {answer.json['access_token']}"}


def test_a_pending_account_holds_lines_until_activated_over_rest(
        db: Database, actor: Actor, client: FlaskClient,
        make_client: Callable[..., tuple[str, str]],
        bearer: Callable[..., dict[str, str]]) -> None:
    root = _admin(db, actor, client, make_client)
    made = client.post("/api/v1/accounts", headers=root, json={
        "name": "Later", "domain": "later.example.org", "pending": True})
    assert made.status_code == 200, made.json
    conforms(made.json, "/api/v1/accounts", "post", 200)
    assert made.json["accounts"][0]["status"] == "PENDING"
    bad = client.post("/api/v1/accounts", headers=root, json={
        "name": "Odd", "domain": "odd.example.org", "pending": "maybe"})
    assert bad.status_code == 400 and bad.json["field"] == "pending"
    with db.uow() as uow:
        apply_entitlements(uow, actor, iter([
            Entitlement(line_id=line_id, account=domain, va=None, tag=TAG, display_name="",
                        license_type="PERPETUAL", quantity=4)
            for line_id, domain in (("L1", "later.example.org"), ("L2", "none.example.net"))]))
        uow.commit()

    held = client.get(A.format(account="later.example.org") + "/held-licenses", headers=root)
    conforms(held.json, A + "/held-licenses", "get", 200)
    assert (held.json["status"], held.json["totalCount"]) == ("PENDING", 1)
    assert held.json["heldLines"][0]["lineId"] == "L1"
    orphans = client.get("/api/v1/held-licenses?limit=-1", headers=root)
    conforms(orphans.json, "/api/v1/held-licenses", "get", 200)
    assert [h["domain"] for h in orphans.json["heldLines"]] == ["none.example.net"]
    # Lines for no account are the system administrators' to see.
    assert client.get("/api/v1/held-licenses", headers=bearer("Acme")).status_code == 403

    shown = client.get(A.format(account="later.example.org"), headers=root)
    conforms(shown.json, A, "get", 200)
    assert shown.json["accounts"][0]["approvedBy"] is None
    assert client.post(A.format(account="later.example.org") + "/activate",
                       headers=bearer("Acme")).status_code == 404
    done = client.post(A.format(account="later.example.org") + "/activate", headers=root)
    conforms(done.json, A + "/activate", "post", 200)
    assert (done.json["accounts"][0]["status"], done.json["accounts"][0]["approvedBy"]) == (
        "ACTIVE", "user:root")
    again = client.post(A.format(account="later.example.org") + "/activate", headers=root)
    assert again.status_code == 409 and "already Active" in again.json["error"]
    licenses = client.get(A.format(account="later.example.org") + "/licenses", headers=root)
    assert [(x["license"], x["virtualAccount"], x["quantity"])
            for x in licenses.json["licenses"]] == [(TAG, "Default", 4)]

"""The REST API's calls in On-Prem shapes, each answer checked against the OpenAPI document."""

from __future__ import annotations

import json
from collections.abc import Callable

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from satellite.accounts.service import set_reservation_mode
from satellite.actor import Actor
from satellite.clock import FixedClock
from satellite.config import Settings
from satellite.reservation import codes
from satellite.uow import Database
from satellite.users.service import create_user
from tests.licenses.helpers import ROUTER, SWITCH, add_line, make_account
from tests.reservation.certify import certify
from tests.web.conftest import conforms

A = "/api/v1/accounts/{account}"
V = A + "/virtual-accounts/{va}"
PASSWORD = "violet-kestrel-42-river"


def test_accounts_vas_licenses_transfer_reserve_and_delete(
        db: Database, actor: Actor, client: FlaskClient, settings: Settings, clock: FixedClock,
        bearer: Callable[..., dict[str, str]]) -> None:
    vas = make_account(db, actor)
    add_line(db, vas["Lab"], ROUTER, 5, subscription_id="SUB-1")
    add_line(db, vas["Ops"], SWITCH, 2)
    with db.uow() as uow:
        set_reservation_mode(uow, actor, "Acme", "specific")
        uow.commit()
    h = bearer("Acme")

    answer = client.post("/api/v1/upstream_satellites/accounts", headers=h)
    conforms(answer.json, "/api/v1/upstream_satellites/accounts", "post", 200)
    assert answer.json["accounts"] == [{"name": "Acme", "domain": "acme.example.com",
                                        "reservation": "specific", "status": "ACTIVE",
                                        "exportCategory": "A",
                                        "createdBy": "cli:tester",
                                        "createdAt": "2026-03-01T12:00:00+00:00",
                                        "approvedBy": "cli:tester",
                                        "activatedAt": "2026-03-01T12:00:00+00:00"}]

    made = client.post("/api/v1/accounts/acme.example.com/virtual-accounts", headers=h,
                       json={"name": "Edge Sites", "description": "remote", "parent": "Lab"})
    assert made.status_code == 200
    conforms(made.json, A + "/virtual-accounts", "post", 200)
    listed = client.get("/api/v1/accounts/Acme/virtual-accounts", headers=h).json
    conforms(listed, A + "/virtual-accounts", "get", 200)
    assert {v["name"]: v["parent"] for v in listed["virtualAccounts"]} == {
        "Default": None, "Edge Sites": "Lab", "Lab": None, "Ops": None}

    everything = client.post("/api/v1/accounts/Acme/licenses", json={"limit": -1}, headers=h)
    conforms(everything.json, A + "/licenses", "post", 200)
    assert everything.json["totalRecords"] == 2
    first = client.post("/api/v1/accounts/Acme/licenses", headers=h,
                        json={"limit": 1, "offset": 1, "virtualAccounts": ["Lab", "Ops"]}).json
    assert [row["license"] for row in first["licenses"]] == [SWITCH]
    assert first["totalRecords"] == 2
    subs = client.get("/api/v1/accounts/Acme/license-subscriptions?limit=-1", headers=h).json
    conforms(subs, A + "/license-subscriptions", "get", 200)
    assert [(s["license"], s["subscriptionId"], s["status"])
            for s in subs["licenseSubscriptions"]] == [(ROUTER, "SUB-1", "ACTIVE"),
                                                      (SWITCH, "", "ACTIVE")]

    moved = client.post("/api/v1/accounts/Acme/virtual-accounts/Lab/licenses/transfer", headers=h,
                        json={"licenses": [{"license": ROUTER, "quantity": 2,
                                            "targetVirtualAccount": "Edge Sites"}]})
    conforms(moved.json, V + "/licenses/transfer", "post", 200)
    assert moved.json["licenses"][0]["available"] == 3
    short = client.post("/api/v1/accounts/Acme/virtual-accounts/Lab/licenses/transfer",
                        headers=h, json={"licenses": [{"license": ROUTER, "quantity": 9,
                                                       "targetVirtualAccount": "Ops"}]})
    assert short.status_code == 409 and short.json["status"] == "ERROR"

    code = codes.RequestCode.for_device(bytes(32), codes.Udi("C9300", "A1"), bytes(8)).encode()

    def reserve() -> TestResponse:
        return client.post("/api/v1/accounts/Acme/virtual-accounts/Lab/reserve-licenses",
                           headers=h, json={"reservationRequests": [{
                               "reservationCode": code, "reservationType": "SPECIFIC",
                               "licenses": [{"entitlementTag": ROUTER, "quantity": 1}]}]})

    # Not registered with Central: no device could verify the code, so none is made.
    unregistered = reserve()
    assert unregistered.status_code == 409
    assert "satellite sync register" in json.dumps(unregistered.json)
    certify(settings, clock.now())
    reserved = reserve()
    assert reserved.status_code == 200, reserved.json
    conforms(reserved.json, V + "/reserve-licenses", "post", 200)
    rows = client.post("/api/v1/accounts/Acme/licenses", json={"limit": -1}, headers=h).json
    lab = next(r for r in rows["licenses"] if r["virtualAccount"] == "Lab")
    assert (lab["quantity"], lab["reserved"], lab["available"]) == (3, 1, 2)

    not_empty = client.post("/api/v1/accounts/Acme/virtual-accounts/Edge%20Sites/delete",
                            headers=h)
    assert not_empty.status_code == 409
    client.post("/api/v1/accounts/Acme/virtual-accounts/Edge%20Sites/licenses/transfer",
                headers=h, json={"licenses": [{"license": ROUTER, "quantity": 2,
                                               "targetVirtualAccount": "Lab"}]})
    gone = client.post("/api/v1/accounts/Acme/virtual-accounts/Edge%20Sites/delete", headers=h)
    assert gone.status_code == 200
    conforms(gone.json, V + "/delete", "post", 200)

    events = client.get("/api/v1/audit?account=Acme&action=va.", headers=h).json
    conforms(events, "/api/v1/audit", "get", 200)
    client_label = next(e["actor"] for e in events["events"] if e["action"] == "va.delete")
    assert client_label.startswith("apiclient:")


def _token(client: FlaskClient, creds: tuple[str, str], user: str,
           password: str = PASSWORD) -> dict[str, str]:
    answer = client.post("/oauth/token", data={"grant_type": "password", "client_id": creds[0],
                                               "client_secret": creds[1], "username": user,
                                               "password": password})
    assert answer.status_code == 200, answer.json
    return {"Authorization": f"Bearer {answer.json['access_token']}"}


def test_users_grants_and_requests(db: Database, actor: Actor, client: FlaskClient,
                                   make_client: Callable[..., tuple[str, str]]) -> None:
    make_account(db, actor, "Globex", "globex.example.com", vas=("Plant",))
    with db.uow() as uow:
        create_user(uow, actor, "root-admin", PASSWORD, system_admin=True)
        create_user(uow, actor, "bob", PASSWORD)
        uow.commit()
    creds = make_client("Globex")
    admin = _token(client, creds, "root-admin")

    made = client.post("/api/v1/users", headers=admin,
                       json={"userName": "carol", "password": "first-passw0rd-c4"})
    assert made.status_code == 200
    conforms(made.json, "/api/v1/users", "post", 200)
    carol = _token(client, creds, "carol", "first-passw0rd-c4")
    changed = client.post("/api/v1/me/password", headers=carol,
                          json={"oldPassword": "first-passw0rd-c4",
                                "newPassword": "second-passw0rd-c4"})
    assert changed.status_code == 200
    # The new password ends the tokens obtained with the old one.
    assert client.get("/api/v1/me", headers=carol).status_code == 401
    carol = _token(client, creds, "carol", "second-passw0rd-c4")
    # Carol has no role yet: she asks Globex's admins for one; bob is made its admin.
    asked = client.post("/api/v1/accounts/Globex/access-requests", headers=carol,
                        json={"role": "account_user", "note": "plant operator"})
    assert asked.status_code == 200
    conforms(asked.json, A + "/access-requests", "post", 200)
    request_id = asked.json["accessRequests"][0]["id"]
    bob = _token(client, creds, "bob")
    assert client.post(f"/api/v1/access-requests/{request_id}/approve",
                       headers=bob).status_code == 404
    granted = client.post("/api/v1/accounts/Globex/users", headers=admin,
                          json={"userName": "bob", "role": "account_admin"})
    conforms(granted.json, A + "/users", "post", 200)
    approved = client.post(f"/api/v1/access-requests/{request_id}/approve", headers=bob)
    assert approved.json["accessRequests"][0]["status"] == "APPROVED"
    grants = client.get("/api/v1/accounts/Globex/users", headers=bob).json["users"]
    assert {(g["userName"], g["role"]) for g in grants} == {("bob", "account_admin"),
                                                           ("carol", "account_user")}
    assert client.get("/api/v1/accounts/Globex/licenses", headers=carol).status_code == 200

    # A subdomain of Globex's domain is for Globex's admins to decide; any other for a
    # system administrator only.
    sub = client.post("/api/v1/account-requests", headers=carol,
                      json={"name": "Globex Labs", "domain": "labs.globex.example.com"}).json
    top = client.post("/api/v1/account-requests", headers=carol,
                      json={"name": "Initech", "domain": "initech.example.com"}).json
    conforms(sub, "/api/v1/account-requests", "post", 200)
    sub_id, top_id = sub["accountRequests"][0]["id"], top["accountRequests"][0]["id"]
    assert [r["id"] for r in client.get("/api/v1/account-requests", headers=bob).json[
        "accountRequests"]] == [sub_id]
    assert client.post(f"/api/v1/account-requests/{top_id}/approve",
                       headers=bob).status_code == 403
    assert client.post(f"/api/v1/account-requests/{sub_id}/approve",
                       headers=bob).status_code == 200
    assert client.post(f"/api/v1/account-requests/{top_id}/deny",
                       headers=admin).json["accountRequests"][0]["status"] == "DENIED"
    names = [a["name"] for a in client.get("/api/v1/accounts", headers=carol).json["accounts"]]
    assert names == ["Globex", "Globex Labs"]

    disabled = client.post("/api/v1/users/carol/disable", headers=admin)
    conforms(disabled.json, "/api/v1/users/{username}/disable", "post", 200)
    assert client.get("/api/v1/accounts", headers=carol).status_code == 401
    listed = client.get("/api/v1/users", headers=admin).json
    conforms(listed, "/api/v1/users", "get", 200)
    assert next(u for u in listed["users"] if u["userName"] == "carol")["disabled"]
    assert client.get("/api/v1/users", headers=bob).status_code == 403

"""REST: update, confirm and return a reservation; transfer licenses to another account."""

from __future__ import annotations

from collections.abc import Callable

from flask.testing import FlaskClient

from satellite.accounts.service import create_account, create_va, set_reservation_mode
from satellite.actor import Actor
from satellite.clock import FixedClock
from satellite.config import Settings
from satellite.reservation import codes
from satellite.uow import Database
from tests.licenses.helpers import ROUTER, add_line, make_account
from tests.reservation.certify import certify
from tests.web.conftest import conforms

A = "/api/v1/accounts/{account}"
V = A + "/virtual-accounts/{va}"
SECRET, NONCE = bytes(32), bytes(8)
UDI = codes.Udi("C9300", "A1")


def _lab(client: FlaskClient, h: dict[str, str]) -> tuple[int, int]:
    rows = client.post("/api/v1/accounts/Acme/licenses", json={"limit": -1}, headers=h).json
    lab = next(r for r in rows["licenses"] if r["virtualAccount"] == "Lab")
    return lab["reserved"], lab["available"]


def test_update_confirm_and_return_a_reservation(
        db: Database, actor: Actor, client: FlaskClient, settings: Settings, clock: FixedClock,
        bearer: Callable[..., dict[str, str]]) -> None:
    vas = make_account(db, actor)
    add_line(db, vas["Lab"], ROUTER, 5)
    with db.uow() as uow:
        set_reservation_mode(uow, actor, "Acme", "specific")
        uow.commit()
    certify(settings, clock.now())
    h = bearer("Acme")
    request = codes.RequestCode.for_device(SECRET, UDI, NONCE).encode()
    reserved = client.post(V.format(account="Acme", va="Lab") + "/reserve-licenses", headers=h,
                           json={"reservationRequests": [{
                               "reservationCode": request, "reservationType": "SPECIFIC",
                               "licenses": [{"entitlementTag": ROUTER, "quantity": 1}]}]})
    assert reserved.status_code == 200, reserved.json
    base = "/api/v1/accounts/Acme/reservations"

    more = client.post(f"{base}/{UDI}/update", headers=h,
                       json={"licenses": [{"entitlementTag": ROUTER, "quantity": 3}]})
    assert more.status_code == 200, more.json
    conforms(more.json, A + "/reservations/{udi}/update", "post", 200)
    assert more.json["reservation"]["serial"] == 2 and more.json["reservation"]["authorizationCode"]
    assert _lab(client, h) == (3, 2)
    fewer = client.post(f"{base}/{UDI}/update", headers=h,
                        json={"licenses": [{"entitlementTag": ROUTER, "quantity": 1}]})
    assert fewer.json["reservation"]["serial"] == 3
    assert _lab(client, h) == (3, 2)  # a decrease waits for the device's confirmation

    bad = client.post(f"{base}/{UDI}/confirm", headers=h, json={"confirmationCode": "nonsense"})
    assert bad.status_code in (400, 422) and _lab(client, h) == (3, 2)
    value = codes.chain_element(SECRET, UDI, NONCE, codes.confirmation_index(3))
    confirmed = client.post(f"{base}/{UDI}/confirm", headers=h,
                            json={"confirmationCode": codes.ConfirmationCode(3, value).encode()})
    assert confirmed.status_code == 200, confirmed.json
    conforms(confirmed.json, A + "/reservations/{udi}/confirm", "post", 200)
    assert _lab(client, h) == (1, 4)

    returned = client.post(f"{base}/return", headers=h, json={
        "returnCode": codes.ReturnCode(codes.return_secret(SECRET, UDI, NONCE)).encode()})
    assert returned.status_code == 200, returned.json
    conforms(returned.json, A + "/reservations/return", "post", 200)
    assert returned.json["reservation"]["status"] != "Reserved"
    assert _lab(client, h) == (0, 5)
    missing = client.post(f"{base}/C9300:NOPE/update", headers=h,
                          json={"licenses": [{"entitlementTag": ROUTER, "quantity": 1}]})
    assert missing.status_code == 404


def test_transfer_to_another_account_needs_rights_in_both(
        db: Database, actor: Actor, client: FlaskClient,
        bearer: Callable[..., dict[str, str]]) -> None:
    vas = make_account(db, actor)
    add_line(db, vas["Lab"], ROUTER, 5)
    with db.uow() as uow:
        create_account(uow, actor, "Beta", "beta.example.com")
        create_va(uow, actor, "beta.example.com", "Plant")
        uow.commit()
    body = {"licenses": [{"license": ROUTER, "quantity": 2, "targetVirtualAccount": "Plant",
                          "targetAccount": "beta.example.com"}]}
    url = V.format(account="Acme", va="Lab") + "/licenses/transfer"
    refused = client.post(url, headers=bearer("Acme"), json=body)
    assert refused.status_code in (403, 404)
    assert _lab(client, bearer("Acme")) == (0, 5)
    h = _system_admin(client, db, actor)
    moved = client.post(url, headers=h, json=body)
    assert moved.status_code == 200, moved.json
    conforms(moved.json, V + "/licenses/transfer", "post", 200)
    assert moved.json["licenses"][0]["targetAccount"] == "beta.example.com"
    beta = client.post("/api/v1/accounts/Beta/licenses", json={"limit": -1}, headers=h).json
    assert [(r["virtualAccount"], r["quantity"]) for r in beta["licenses"]] == [("Plant", 2)]


def _system_admin(client: FlaskClient, db: Database, actor: Actor) -> dict[str, str]:
    from satellite.access.apiclients import create_client
    from satellite.users.service import create_user
    with db.uow() as uow:
        create_user(uow, actor, "root2", "violet-kestrel-42-river", system_admin=True)
        made, secret = create_client(uow, actor, "Acme", "account_admin")
        uow.commit()
    answer = client.post("/oauth/token", data={
        "grant_type": "password", "client_id": made.client_id, "client_secret": secret,
        "username": "root2", "password": "violet-kestrel-42-river"})
    assert answer.status_code == 200, answer.json
    return {"Authorization": f"Bearer {answer.json['access_token']}"}

"""Registration tokens, devices, alerts and sync status over the REST API, and who may call them."""

from __future__ import annotations

from collections.abc import Callable

from flask.testing import FlaskClient

from satellite.accounts.service import create_account
from satellite.actor import Actor
from satellite.agent.client import DeviceClient
from satellite.clock import FixedClock
from satellite.config import Settings
from satellite.crypto import keys
from satellite.tokens.secrets import TokenSealer
from satellite.uow import Database
from tests.devices.helpers import TAG, FlaskTransport, make_site, make_token
from tests.web.conftest import conforms

A = "/api/v1/accounts/{account}"
V = A + "/virtual-accounts/{va}"
LAB = "/api/v1/accounts/Acme/virtual-accounts/Lab"


def test_tokens_devices_alerts_and_sync_status_by_role(
        db: Database, actor: Actor, settings: Settings, clock: FixedClock, client: FlaskClient,
        bearer: Callable[..., dict[str, str]]) -> None:
    make_site(db, actor)
    with db.uow() as uow:
        create_account(uow, actor, "Globex", "globex.example.com")
        uow.commit()
    admin, viewer = bearer("Acme"), bearer("Acme", "account_viewer")
    stranger = bearer("Globex")

    made = client.post(LAB + "/tokens", headers=admin, json={
        "expiresAfterDays": 5, "description": "racks", "exportControlled": "Allowed"})
    assert made.status_code == 200, made.json
    conforms(made.json, V + "/tokens", "post", 200)
    secret = made.json["tokenInfo"]["token"]
    assert made.json["tokenInfo"]["usesRemaining"] is None

    # A viewer sees the tokens, values included, but may not make or revoke one.
    seen = client.get(LAB + "/tokens", headers=viewer)
    conforms(seen.json, V + "/tokens", "get", 200)
    assert [t["token"] for t in seen.json["tokens"]] == [secret]
    assert client.post(LAB + "/tokens", headers=viewer, json={}).status_code == 403
    assert client.post(LAB + "/tokens/revoke", headers=viewer,
                       json={"tokens": [secret]}).status_code == 403
    # Another account's client learns nothing of this one.
    assert client.get(LAB + "/tokens", headers=stranger).status_code == 404
    assert client.get(LAB + "/devices", headers=stranger).status_code == 404
    assert client.get("/api/v1/accounts/Acme/alerts", headers=stranger).status_code == 404
    bad = client.post(LAB + "/tokens", headers=admin, json={"exportControlled": "maybe"})
    assert bad.status_code == 400 and bad.json["status"] == "ERROR"

    device = DeviceClient(FlaskTransport(client), keys.generate_private_key(), now=clock.now)
    device.register(secret, "C9300-24T", "FOC1", "sw1", TAG)
    device.report({TAG: 1})
    listed = client.get(LAB + "/devices?limit=-1", headers=viewer)
    conforms(listed.json, V + "/devices", "get", 200)
    (row,) = listed.json["devices"]
    assert row["sudi"]["udiSerialNumber"] == "FOC1"
    assert row["licenseUsage"] == [{"license": TAG, "quantity": 1}]
    sudi = {"udiPid": "C9300-24T", "udiSerialNumber": "FOC1"}

    assert client.post(LAB + "/devices/transfer", headers=viewer, json={"productInstances": [
        {"sudi": sudi, "targetVirtualAccount": "Spare"}]}).status_code == 403
    moved = client.post(LAB + "/devices/transfer", headers=admin, json={"productInstances": [
        {"sudi": sudi, "productTagName": TAG, "targetVirtualAccount": "Spare"}]})
    assert moved.status_code == 200, moved.json
    conforms(moved.json, V + "/devices/transfer", "post", 200)
    assert client.get(LAB + "/devices", headers=admin).json["devices"] == []
    # The device is in Spare now: removing it through Lab finds nothing there.
    wrong = client.post(LAB + "/devices/remove", headers=admin,
                        json={"productInstancesRemoveRequests": [{"sudi": sudi}]})
    assert wrong.status_code == 404
    spare = "/api/v1/accounts/Acme/virtual-accounts/Spare"
    removed = client.post(spare + "/devices/remove", headers=admin,
                          json={"productInstacesRemoveRequests": [{"sudi": sudi}]})
    assert removed.status_code == 200, removed.json
    conforms(removed.json, V + "/devices/remove", "post", 200)
    (gone,) = client.get(spare + "/devices", headers=admin).json["devices"]
    assert gone["licenseUsage"] == []

    revoked = client.post(LAB + "/tokens/revoke", headers=admin, json={"tokens": [secret]})
    assert revoked.status_code == 200
    (token,) = client.get(LAB + "/tokens", headers=admin).json["tokens"]
    assert token["status"] == "REVOKED"

    alerts = client.get("/api/v1/accounts/Acme/alerts", headers=viewer)
    conforms(alerts.json, A + "/alerts", "get", 200)
    status = client.get("/api/v1/accounts/Acme/sync-status", headers=admin)
    conforms(status.json, A + "/sync-status", "get", 200)
    assert client.get("/api/v1/accounts/Acme/sync-status", headers=viewer).status_code == 403
    assert client.get("/api/v1/sync-status", headers=admin).status_code == 403


def test_the_cli_can_still_list_tokens_it_made(db: Database, actor: Actor,
                                               settings: Settings) -> None:
    make_site(db, actor)
    sealer = TokenSealer.for_data_dir(settings.data_dir)
    secret = make_token(db, actor, sealer)
    from satellite.tokens.service import list_tokens
    with db.reader() as uow:
        assert [v.secret for v in list_tokens(uow.session, actor, sealer, "Acme", "Lab")] == [
            secret]

"""The device protocol through the Flask app: registration, signed messages, answers."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from satellite.actor import Actor
from satellite.agent.client import DeviceClient, Refused
from satellite.clock import FixedClock
from satellite.crypto import certificates, keys, signing
from satellite.devices.authority import DeviceAuthority
from satellite.devices.messages import build_request
from satellite.licenses.counters import counter
from satellite.tokens.secrets import TokenSealer
from satellite.uow import Database
from tests.devices.helpers import SECRET_TAG, TAG, FlaskTransport, Site, device, make_token


def registered(transport: FlaskTransport, clock: FixedClock, token: str,
               sn: str = "FOC1234X") -> DeviceClient:
    client = device(transport, clock)
    client.register(token, "C9300-24T", sn, hostname=f"sw-{sn}")
    return client


def in_use(db: Database, site: Site, clock: FixedClock, tag: str = TAG) -> int:
    with db.reader() as uow:
        return counter(uow.session, site.va_id, tag, clock.now().date()).in_use


def test_register_issues_a_certificate_from_the_device_ca_and_the_sync_policy(
        db: Database, actor: Actor, sealer: TokenSealer, site: Site, clock: FixedClock,
        transport: FlaskTransport, authority: DeviceAuthority) -> None:
    client = device(transport, clock)
    answer = client.register(make_token(db, actor, sealer), "C9300-24T", "FOC1234X",
                             hostname="sw1")
    info = certificates.verify_issued(authority.ca_certificate, answer["certificate"].encode(),
                                      clock.now())
    assert "CN=PID:C9300-24T\\,SN:FOC1234X" in info.subject
    assert info.public_key_id == keys.key_id(keys.public_key_of(client.private_key))
    assert info.not_after - clock.now() == timedelta(days=365) - certificates.BACKDATE
    assert answer["caChain"] == [authority.ca_certificate.decode()]
    assert answer["policy"]["authorizationRenewDays"] == 30
    assert answer["policy"]["authorizationValidDays"] == 90
    assert answer["policy"]["certificateRenewDays"] == 180
    assert (answer["account"], answer["virtualAccount"]) == ("acme.example.com", "Lab")


def test_registering_the_same_udi_again_keeps_one_device_with_its_history(
        db: Database, actor: Actor, sealer: TokenSealer, site: Site, clock: FixedClock,
        transport: FlaskTransport) -> None:
    from satellite.devices.service import show_device

    token = make_token(db, actor, sealer)
    first = registered(transport, clock, token)
    first.report({TAG: 2})
    again = registered(transport, clock, token)
    assert again.device_id == first.device_id
    with db.reader() as uow:
        shown = show_device(uow.session, Actor.local_operator(), "PID:C9300-24T,SN:FOC1234X")
    assert shown["registrations"] == 2
    assert shown["usage"] == {}
    with pytest.raises(Refused) as refused:
        first.report({TAG: 1})  # the old key no longer speaks for the device
    assert refused.value.status == 401


def test_usage_within_the_pool_is_authorized_and_beyond_it_out_of_compliance(
        db: Database, actor: Actor, sealer: TokenSealer, site: Site, clock: FixedClock,
        transport: FlaskTransport) -> None:
    token = make_token(db, actor, sealer)
    one, two = registered(transport, clock, token, "A1"), registered(transport, clock, token, "A2")
    answer = one.report({TAG: 3})
    assert answer["status"] == "AUTHORIZED"
    assert answer["tags"] == [{"tag": TAG, "count": 3, "status": "AUTHORIZED", "quantity": 5,
                               "inUse": 3, "available": 2}]
    assert answer["authorizationExpiresAt"].startswith(
        (clock.now() + timedelta(days=90)).strftime("%Y-%m-%dT%H:%M"))
    assert answer["nextCallAt"].startswith((clock.now() + timedelta(days=30)).strftime("%Y-%m-%d"))
    over = two.report({TAG: 3})
    assert over["status"] == "OUT_OF_COMPLIANCE"
    assert over["tags"][0]["available"] == -1
    assert in_use(db, site, clock) == 6
    # The latest report is the consumption: dropping to 2 brings the pool back in compliance.
    assert one.report({TAG: 2})["status"] == "AUTHORIZED"
    assert in_use(db, site, clock) == 5


def test_unknown_and_export_controlled_tags_are_not_authorized_and_unknown_use_is_recorded(
        db: Database, actor: Actor, sealer: TokenSealer, site: Site, clock: FixedClock,
        transport: FlaskTransport) -> None:
    plain = registered(transport, clock, make_token(db, actor, sealer), "P1")
    answer = plain.report({SECRET_TAG: 1, "regid.unknown": 1})
    statuses = {t["tag"]: (t["status"], t["reason"]) for t in answer["tags"]}
    assert statuses[SECRET_TAG][0] == "NOT_AUTHORIZED"
    assert "export-controlled" in statuses[SECRET_TAG][1]
    assert statuses["regid.unknown"] == ("NOT_AUTHORIZED",
                                         "the virtual account has no license for this tag")
    # An export refusal consumes nothing; use of a tag with no line is recorded (unlicensed).
    assert in_use(db, site, clock, SECRET_TAG) == 0
    assert in_use(db, site, clock, "regid.unknown") == 1
    allowed = registered(transport, clock,
                         make_token(db, actor, sealer, export_controlled=True), "P2")
    assert allowed.report({SECRET_TAG: 1})["tags"][0]["status"] == "AUTHORIZED"
    assert in_use(db, site, clock, SECRET_TAG) == 1


def _signed(client: DeviceClient, clock: FixedClock, usage: dict[str, int]) -> tuple[bytes, dict[str, str]]:
    return build_request("usage", client.device_id, {"usage": usage}, clock.now(),
                         lambda data: signing.sign(client.private_key, data))


def test_replayed_forged_stale_and_unknown_messages_are_refused_with_json_errors(
        db: Database, actor: Actor, sealer: TokenSealer, site: Site, clock: FixedClock,
        transport: FlaskTransport) -> None:
    client = registered(transport, clock, make_token(db, actor, sealer))
    http = transport.client
    raw, headers = _signed(client, clock, {TAG: 1})
    assert http.post("/api/device/v1/usage", data=raw, headers=headers).status_code == 200
    replay = http.post("/api/device/v1/usage", data=raw, headers=headers)
    assert replay.status_code == 409
    assert "already received" in replay.get_json()["error"]

    raw, headers = _signed(client, clock, {TAG: 1})
    forged = raw.replace(b'"' + TAG.encode() + b'":1', b'"' + TAG.encode() + b'":5')
    bad = http.post("/api/device/v1/usage", data=forged, headers=headers)
    assert bad.status_code == 401
    assert "does not verify" in bad.get_json()["error"]

    stranger = DeviceClient(transport, keys.generate_private_key(), client.device_id,
                            now=clock.now)
    with pytest.raises(Refused) as wrong_key:
        stranger.report({TAG: 1})
    assert wrong_key.value.status == 401

    raw, headers = _signed(client, clock, {TAG: 1})
    clock.advance(timedelta(minutes=6))
    stale = http.post("/api/device/v1/usage", data=raw, headers=headers)
    assert stale.status_code == 401
    assert "check the device clock" in stale.get_json()["error"]

    unknown = DeviceClient(transport, client.private_key, 999_999, now=clock.now)
    with pytest.raises(Refused) as missing:
        unknown.report({})
    assert missing.value.status == 401
    assert "not registered" in missing.value.message

    garbage = http.post("/api/device/v1/usage", data=b"{}", headers=headers)
    assert garbage.status_code == 400
    assert json.loads(garbage.data)["status"] == "ERROR"


def test_a_usage_message_cannot_be_replayed_as_another_kind(
        db: Database, actor: Actor, sealer: TokenSealer, site: Site, clock: FixedClock,
        transport: FlaskTransport) -> None:
    client = registered(transport, clock, make_token(db, actor, sealer))
    raw, headers = _signed(client, clock, {})
    answer = transport.client.post("/api/device/v1/deregister", data=raw, headers=headers)
    assert answer.status_code == 400
    assert "takes 'deregister' messages" in answer.get_json()["error"]


def test_deregister_releases_consumption_revokes_the_certificate_and_keeps_the_device(
        db: Database, actor: Actor, sealer: TokenSealer, site: Site, clock: FixedClock,
        transport: FlaskTransport) -> None:
    from satellite.devices.models import RevokedCertificate
    from satellite.devices.service import show_device

    client = registered(transport, clock, make_token(db, actor, sealer))
    client.report({TAG: 4})
    assert in_use(db, site, clock) == 4
    assert client.deregister()["status"] == "DEREGISTERED"
    assert in_use(db, site, clock) == 0
    with db.reader() as uow:
        shown = show_device(uow.session, Actor.local_operator(), "FOC1234X")
        assert uow.session.get(RevokedCertificate, shown["certificate_serial"]) is not None
    assert shown["status"] == "Deregistered"
    with pytest.raises(Refused) as after:
        client.report({TAG: 1})
    assert after.value.status == 401
    assert "deregistered" in after.value.message


def test_renew_issues_a_new_certificate_and_revokes_the_old_one(
        db: Database, actor: Actor, sealer: TokenSealer, site: Site, clock: FixedClock,
        transport: FlaskTransport, authority: DeviceAuthority) -> None:
    from satellite.devices.models import RevokedCertificate

    client = device(transport, clock)
    first = client.register(make_token(db, actor, sealer), "C9300-24T", "R1")
    clock.advance(timedelta(days=181))
    renewed = client.renew()
    old = certificates.describe(first["certificate"].encode())
    new = certificates.verify_issued(authority.ca_certificate, renewed["certificate"].encode(),
                                     clock.now())
    assert new.not_after > old.not_after
    with db.reader() as uow:
        assert uow.session.get(RevokedCertificate, format(old.serial, "x")) is not None


def test_a_device_may_register_with_a_csr_instead_of_a_bare_public_key(
        db: Database, actor: Actor, sealer: TokenSealer, site: Site, clock: FixedClock,
        transport: FlaskTransport, authority: DeviceAuthority) -> None:
    private = keys.generate_private_key()
    csr = certificates.create_csr(private, "PID:C9300-24T,SN:CSR1").decode()
    raw, headers = build_request(
        "register", None, {"token": make_token(db, actor, sealer),
                           "udi": {"pid": "C9300-24T", "sn": "CSR1"}, "csr": csr},
        clock.now(), lambda data: signing.sign(private, data))
    answer = transport.client.post("/api/device/v1/register", data=raw, headers=headers)
    assert answer.status_code == 200, answer.get_json()
    info = certificates.verify_issued(authority.ca_certificate,
                                      answer.get_json()["certificate"].encode(), clock.now())
    assert info.public_key_id == keys.key_id(keys.public_key_of(private))

    other = keys.generate_private_key()
    raw, headers = build_request(
        "register", None, {"token": make_token(db, actor, sealer),
                           "udi": {"pid": "C9300-24T", "sn": "CSR2"}, "csr": csr},
        clock.now(), lambda data: signing.sign(other, data))
    refused = transport.client.post("/api/device/v1/register", data=raw, headers=headers)
    assert refused.status_code == 401
    assert "signed by the key it registers" in refused.get_json()["error"]

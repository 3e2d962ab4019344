"""Every parser fuzzed: a clear refusal and nothing changed, never a traceback or a 500,
and the same answer on SQLite and PostgreSQL.

Parsers: device messages (validly signed, so the body reaches the satellite's checks),
reservation request/authorization/confirmation/return codes (with valid checksums, so the
payload is read), sync bundles unsigned and signed by Central, backup manifests, REST bodies.
Example counts are modest; see tests/fuzzing.py for the long run.
"""

from __future__ import annotations

import gzip
import hashlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from satellite.actor import Actor
from satellite.agent.client import DeviceClient
from satellite.backup.service import parse_manifest
from satellite.bootstrap import initialise, open_database
from satellite.clock import FixedClock
from satellite.cloudsync.envelope import MAGIC, read_bundle
from satellite.cloudsync.records import CENTRAL_RESPONSE
from satellite.cloudsync.service import SNAPSHOT, import_bundle
from satellite.config import Settings, load_settings
from satellite.crypto import keys, signing
from satellite.db import Base
from satellite.devices.messages import PROTOCOL, format_time, new_nonce, signature_headers
from satellite.devices.models import Device
from satellite.errors import SatelliteError
from satellite.keystore import open_keystore
from satellite.reservation import checksum, codes
from satellite.state import StateEntry
from satellite.tokens.secrets import TokenSealer
from satellite.uow import Database
from satellite.web import create_app
from tests.cloudsync.conftest import Central
from tests.conftest import PgSchema
from tests.devices.helpers import FlaskTransport, Site, make_site, make_token
from tests.fuzzing import fuzz_settings, hostile_bodies, hostile_text, hostile_values

DEVICE_KEYS = ["usage", "udi", "hostname", "productTag", "token", "publicKey", "csr", "deviceId",
               "timestamp", "nonce", "protocol", "type"]
hostile_fields = st.dictionaries(st.sampled_from(DEVICE_KEYS) | hostile_text, hostile_values,
                                 max_size=5)


def snapshot(db: Database) -> tuple[Any, ...]:
    """What any refused input must leave as it was: every table's row count, the state, the
    devices' mutable columns."""
    with db.reader() as uow:
        s = uow.session
        counts = tuple(s.scalar(select(func.count()).select_from(table))
                       for table in Base.metadata.sorted_tables)
        state = tuple(s.execute(select(StateEntry.key, StateEntry.value)
                                .order_by(StateEntry.key)).all())
        devices = tuple(s.execute(select(Device.id, Device.status, Device.hostname,
                                         Device.last_contact_at).order_by(Device.id)).all())
    return counts, state, devices


def signed_message(client: DeviceClient, message_type: str, fields: dict[str, Any],
                   now: datetime) -> tuple[bytes, dict[str, str]]:
    document: dict[str, Any] = {"protocol": PROTOCOL, "type": message_type,
                                "timestamp": format_time(now), "nonce": new_nonce()}
    if client.device_id is not None:
        document["deviceId"] = client.device_id
    document.update(fields)
    raw = json.dumps(document).encode()
    return raw, signature_headers(signing.sign(client.private_key, raw))


def answer_of(status: int, body: bytes) -> tuple[int, str]:
    try:
        return status, str(json.loads(body).get("error", ""))
    except (ValueError, AttributeError):
        return status, ""


# --- device messages --------------------------------------------------------------------------

def test_signed_device_messages_with_hostile_bodies_are_refused_without_a_trace(
        db: Database, actor: Actor, sealer: TokenSealer, site: Site, clock: FixedClock,
        transport: FlaskTransport) -> None:
    client = DeviceClient(transport, keys.generate_private_key(), now=clock.now)
    client.register(make_token(db, actor, sealer), "C9300-24T", "FOC1")
    newcomer = DeviceClient(transport, keys.generate_private_key(), now=clock.now)
    token = make_token(db, actor, sealer)

    @fuzz_settings(60)
    @given(kind=st.sampled_from(["register", "usage", "renew", "deregister"]),
           fields=hostile_fields)
    def check(kind: str, fields: dict[str, Any]) -> None:
        sender = newcomer if kind == "register" else client
        if kind == "register":
            fields = {"token": token, "publicKey": newcomer.public_key_b64, **fields}
        raw, headers = signed_message(sender, kind, fields, clock.now())
        before = snapshot(db)
        reply = transport.request("POST", f"/api/device/v1/{kind}", raw, headers)
        assert reply.status < 500, (kind, fields, reply.body[:300])
        if reply.status >= 400:
            assert json.loads(reply.body)["status"] == "ERROR"
            assert snapshot(db) == before, (kind, fields)

    check()


# --- reservation codes ------------------------------------------------------------------------

DECODERS: dict[str, Callable[[str], object]] = {
    codes.REQUEST: codes.RequestCode.decode, codes.AUTHORIZATION: codes.AuthorizationCode.decode,
    codes.CONFIRMATION: codes.ConfirmationCode.decode, codes.RETURN: codes.ReturnCode.decode}


@fuzz_settings(300)
@given(letter=st.sampled_from(sorted(DECODERS)), payload=st.binary(max_size=400),
       typed=hostile_text, checksummed=st.booleans())
def test_reservation_codes_decode_or_refuse_clearly(letter: str, payload: bytes, typed: str,
                                                     checksummed: bool) -> None:
    text = checksum.make(letter, payload) if checksummed else typed
    try:
        DECODERS[letter](text)
    except SatelliteError as exc:
        assert exc.message and "\n" not in exc.message


def test_request_codes_with_hostile_payloads_change_nothing(
        client: FlaskClient, db: Database, site: Site, settings: Settings, clock: FixedClock,
        bearer: Callable[..., dict[str, str]]) -> None:
    from tests.reservation.certify import certify
    certify(settings, clock.now())
    headers = bearer("Acme")

    @fuzz_settings(40)
    @given(payload=st.binary(max_size=200))
    def check(payload: bytes) -> None:
        before = snapshot(db)
        answer = client.post("/api/v1/accounts/Acme/virtual-accounts/Lab/reserve-licenses",
                             headers=headers, json={"reservationRequests": [{
                                 "reservationCode": checksum.make(codes.REQUEST, payload),
                                 "reservationType": "UNIVERSAL"}]})
        assert answer.status_code < 500
        if answer.status_code >= 400:
            assert snapshot(db) == before

    check()


# --- sync bundles -----------------------------------------------------------------------------

def write_signed(path: Path, key: keys.PrivateKey, sender: str, recipient: str,
                 records: list[Any], fields: dict[str, Any], serial: int = 1) -> Path:
    """A response signed by `key` whose records are any JSON (ASCII, so surrogates pass)."""
    payload = gzip.compress(b"".join(json.dumps(r).encode() + b"\n" for r in records), mtime=0)
    header = {"format": 1, "kind": CENTRAL_RESPONSE, "sender": sender, "recipient": recipient,
              "serial": serial, "created_at": datetime(2026, 3, 1, tzinfo=UTC).isoformat(),
              "key_id": keys.key_id(keys.public_key_of(key)),
              "payload_sha256": hashlib.sha256(payload).hexdigest(),
              "payload_records": len(records), "fields": fields}
    head = MAGIC + json.dumps(header, sort_keys=True, separators=(",", ":")).encode() + b"\n"
    path.write_bytes(head + signing.sign(key, head).to_json().encode() + b"\n" + payload)
    return path


entitlement_like = st.fixed_dictionaries({
    "type": st.just("entitlement"), "line_id": hostile_text | st.just("L1"),
    "account": st.just("abc.xyz.com") | hostile_text, "va": st.none() | hostile_text,
    "tag": hostile_text, "display_name": hostile_values, "license_type": st.sampled_from(
        ["PERPETUAL", "TERM", "DEMO"]) | hostile_text, "quantity": hostile_values,
    "start_date": st.none() | hostile_text | st.just("0001-01-01"),
    "end_date": st.none() | hostile_text | st.just("9999-12-31"),
    "subscription_id": hostile_values, "export_controlled": hostile_values})


def test_signed_bundles_with_hostile_records_are_refused_and_change_nothing(
        abc: Database, central: Central, satellite_id: str, tmp_path: Path, actor: Actor,
        settings: Settings) -> None:
    keystore = open_keystore(settings)

    @fuzz_settings(40)
    @given(records=st.lists(entitlement_like | hostile_values, max_size=3),
           fields=st.fixed_dictionaries({"entitlements": st.just(SNAPSHOT)}, optional={
               "policy": hostile_values, "ack_through": hostile_values}))
    def check(records: list[Any], fields: dict[str, Any]) -> None:
        path = write_signed(tmp_path / "r.bundle", central.key, central.sender, satellite_id,
                            records, fields)
        before = snapshot(abc)
        try:
            import_bundle(abc, keystore, actor, path, dry_run=True)
        except SatelliteError as exc:
            assert exc.message
        assert snapshot(abc) == before  # a dry run never changes anything either

    check()


@fuzz_settings(150)
@given(head=hostile_bodies, signature=hostile_bodies, payload=st.binary(max_size=100))
def test_unsigned_bundles_are_refused_before_their_header_is_trusted(
        tmp_path_factory: pytest.TempPathFactory, head: bytes, signature: bytes,
        payload: bytes) -> None:
    path = tmp_path_factory.mktemp("bundle") / "x.bundle"
    path.write_bytes(MAGIC + head.replace(b"\n", b" ") + b"\n"
                     + signature.replace(b"\n", b" ") + b"\n" + payload)
    trusted = keys.public_key_of(keys.generate_private_key())
    try:
        with read_bundle(path) as bundle:
            bundle.verify(trusted)
            raise AssertionError("a bundle no trusted key signed was accepted")
    except SatelliteError as exc:
        assert exc.message


# --- backup manifests -------------------------------------------------------------------------

@fuzz_settings(200)
@given(raw=hostile_bodies | st.dictionaries(
    st.sampled_from(["format", "files", "database_file"]) | hostile_text, hostile_values,
    max_size=4).map(lambda d: json.dumps(d).encode()))
def test_backup_manifests_are_read_or_refused_clearly(raw: bytes) -> None:
    try:
        manifest = parse_manifest(raw)
    except SatelliteError as exc:
        assert exc.message
    else:
        assert isinstance(manifest["files"], dict)


# --- REST bodies ------------------------------------------------------------------------------

STATE_CHANGING = ["/api/v1/accounts", "/api/v1/accounts/Acme/virtual-accounts",
                  "/api/v1/accounts/Acme/virtual-accounts/Lab/licenses/transfer",
                  "/api/v1/accounts/Acme/virtual-accounts/Lab/tokens",
                  "/api/v1/accounts/Acme/virtual-accounts/Lab/devices/transfer",
                  "/api/v1/accounts/Acme/api-clients", "/api/v1/users",
                  "/api/v1/accounts/Acme/alerts"]


def test_rest_bodies_that_are_refused_change_nothing(
        client: FlaskClient, db: Database, site: Site,
        bearer: Callable[..., dict[str, str]]) -> None:
    headers = bearer("Acme")

    @fuzz_settings(60)
    @given(path=st.sampled_from(STATE_CHANGING), body=hostile_bodies)
    def check(path: str, body: bytes) -> None:
        before = snapshot(db)
        answer = client.post(path, data=body,
                             headers={**headers, "Content-Type": "application/json"})
        assert answer.status_code < 500, (path, body[:200], answer.get_data(as_text=True))
        if answer.status_code >= 400:
            assert snapshot(db) == before, (path, body[:200])

    check()


# --- the same answer on both engines ----------------------------------------------------------

@dataclass
class Appliance:
    db: Database
    app: Flask
    device: DeviceClient
    headers: dict[str, str]


def _appliance(settings: Settings, clock: FixedClock, device_key: keys.PrivateKey) -> Appliance:
    db = open_database(settings, clock)
    actor = Actor("cli", "tester")
    initialise(settings, db, actor, admin_password="correct horse battery staple")
    make_site(db, actor)
    app = create_app(settings, db)
    transport = FlaskTransport(app.test_client())
    device = DeviceClient(transport, device_key, now=clock.now)
    device.register(make_token(db, actor, TokenSealer.for_data_dir(settings.data_dir)),
                    "C9300-24T", "FOC1")
    from satellite.access.apiclients import create_client
    with db.uow() as uow:
        made, secret = create_client(uow, actor, "Acme", "account_admin")
        uow.commit()
    token = app.test_client().post("/oauth/token", json={
        "grant_type": "client_credentials", "client_id": made.client_id,
        "client_secret": secret}).json["access_token"]
    return Appliance(db, app, device, {"Authorization": f"Bearer {token}"})


@pytest.fixture
def twins(tmp_path: Path, pg_schema: PgSchema, clock: FixedClock
          ) -> Iterator[tuple[Appliance, Appliance]]:
    """The same appliance on SQLite and on PostgreSQL, with the same device registered."""
    key = keys.generate_private_key()
    made = []
    for name, url in (("lite", f"sqlite:///{tmp_path / 'lite.db'}"), ("pg", pg_schema.url)):
        settings = load_settings(data_dir=tmp_path / name, env={},
                                 overrides={"database_url": url})
        made.append(_appliance(settings, clock, key))
    yield made[0], made[1]
    for appliance in made:
        appliance.db.dispose()


def test_sqlite_and_postgresql_give_the_same_answer_to_the_same_input(
        twins: tuple[Appliance, Appliance], clock: FixedClock) -> None:
    lite, pg = twins

    @fuzz_settings(60)
    @given(target=st.sampled_from(["usage", "deregister", *STATE_CHANGING[:4]]),
           fields=hostile_fields, body=hostile_bodies)
    def check(target: str, fields: dict[str, Any], body: bytes) -> None:
        answers = []
        # The same bytes and nonce to both: each appliance has its own nonce store.
        raw, headers = signed_message(lite.device, target, fields, clock.now())
        for appliance in (lite, pg):
            client = appliance.app.test_client()
            if target.startswith("/"):
                reply = client.post(target, data=body, headers={
                    **appliance.headers, "Content-Type": "application/json"})
            else:
                reply = client.post(f"/api/device/v1/{target}", data=raw, headers=headers)
            assert reply.status_code < 500
            answers.append(answer_of(reply.status_code, reply.get_data()))
        assert answers[0] == answers[1], (target, fields if not target.startswith("/") else body)

    check()

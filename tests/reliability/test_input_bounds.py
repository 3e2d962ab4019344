"""Bad input gets the same clear refusal on SQLite and PostgreSQL, and changes nothing.

Every test runs on both engines (the `db` fixture), so "the same answer on both" is each
assertion holding on each. Each failed before the bound it exercises existed.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from satellite.actor import Actor
from satellite.central_settings import STATE_PREFIX as POLICY_PREFIX
from satellite.clock import FixedClock
from satellite.cloudsync import network
from satellite.cloudsync.envelope import MAGIC, Header, write_bundle
from satellite.cloudsync.records import CENTRAL_RESPONSE, Entitlement
from satellite.cloudsync.service import SNAPSHOT
from satellite.config import Settings
from satellite.crypto import keys, signing
from satellite.crypto.signing import Signer
from satellite.devices.messages import build_request
from satellite.devices.models import Device
from satellite.reservation import codes
from satellite.reservation.models import Reservation
from satellite.state import set_state
from satellite.tokens.secrets import TokenSealer
from satellite.uow import Database
from tests.cloudsync.conftest import Central, dump
from tests.conftest import CliResult
from tests.devices.helpers import TAG, FlaskTransport, Site, device, make_token
from tests.reservation.certify import certify

Cli = Callable[..., CliResult]
BAD_UDIS = [("", "S1"), ("P", ""), ("A:B", "S:2"), (" ", "S1"), ("P\nX", "S1"), ("Pé", "S1"),
            ("P" * 65, "S1"), ("P", "S" * 200), ("P,Q", "S1")]


def one_line(result: CliResult) -> None:
    assert result.code != 0
    assert result.err.count("\n") == 1 and "Traceback" not in result.err, result.err


# --- 3: size, depth, integer range and characters before anything else ----------------------

@pytest.mark.parametrize("device_id", [10**30, 2**63, 2**40, 2**31, 0, -5])
def test_a_device_id_out_of_range_is_a_400_on_every_engine(
        client: FlaskClient, clock: FixedClock, device_id: int) -> None:
    key = keys.generate_private_key()
    for kind in ("usage", "renew", "deregister"):
        raw, headers = build_request(kind, device_id, {"usage": {}} if kind == "usage" else {},
                                     clock.now(), lambda data: signing.sign(key, data))
        answer = client.post(f"/api/device/v1/{kind}", data=raw, headers=headers)
        assert answer.status_code == 400, answer.get_data(as_text=True)
        assert answer.get_json()["field"] == "deviceId"


def test_nul_in_a_hostname_or_tag_is_the_same_400_on_every_engine(
        db: Database, actor: Actor, sealer: TokenSealer, site: Site, clock: FixedClock,
        transport: FlaskTransport) -> None:
    client = device(transport, clock)
    refused = client.prepare("register", {"token": make_token(db, actor, sealer),
                                          "udi": {"pid": "C9300-24T", "sn": "FOC1"},
                                          "hostname": "sw\x00", "publicKey": client.public_key_b64})
    reply = client.send(refused)
    assert reply.status == 400 and json.loads(reply.body)["field"] == "hostname"
    client.register(make_token(db, actor, sealer), "C9300-24T", "FOC1")
    for usage in ({TAG + "\x00": 1}, {TAG + "\nforged": 1}, {"t" * 256: 1}, {TAG: 2**31}):
        reply = client.send(client.prepare("usage", {"usage": usage}))
        assert reply.status == 400 and json.loads(reply.body)["field"] == "usage", reply.body


# --- 4: one UDI rule for every entry point -------------------------------------------------

@pytest.mark.parametrize(("pid", "sn"), BAD_UDIS)
def test_registration_refuses_what_the_udi_rule_refuses(
        db: Database, actor: Actor, sealer: TokenSealer, site: Site, clock: FixedClock,
        transport: FlaskTransport, pid: str, sn: str) -> None:
    client = device(transport, clock)
    reply = client.send(client.prepare("register", {
        "token": make_token(db, actor, sealer), "udi": {"pid": pid, "sn": sn},
        "publicKey": client.public_key_b64}))
    assert reply.status == 400, reply.body
    assert json.loads(reply.body)["field"] in ("pid", "sn")
    with db.reader() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Device)) == 0


def _request_code(pid: str, sn: str) -> str:
    # Written as a device with another rule would: the encoder itself does not check.
    udi = codes.Udi(pid, sn)
    return codes.RequestCode.for_device(secrets.token_bytes(32), udi,
                                        secrets.token_bytes(codes.NONCE_BYTES)).encode()


@pytest.mark.parametrize(("pid", "sn"), BAD_UDIS)
def test_request_codes_are_held_to_the_same_udi_rule_in_the_cli_and_the_api(
        db: Database, cli: Cli, site: Site, settings: Settings, clock: FixedClock,
        client: FlaskClient, bearer: Callable[..., dict[str, str]], pid: str, sn: str) -> None:
    certify(settings, clock.now())
    assert cli("account", "set", "Acme", "--reservation", "both").code == 0
    code = _request_code(pid, sn)
    result = cli("reservation", "authorize", "Acme", "Lab", "--request-code", code,
                 "--license", f"{TAG}=1")
    one_line(result)
    assert "UDI" in result.err
    answer = client.post("/api/v1/accounts/Acme/virtual-accounts/Lab/reserve-licenses",
                         headers=bearer("Acme"), json={"reservationRequests": [{
                             "reservationCode": code, "reservationType": "SPECIFIC",
                             "licenses": [{"entitlementTag": TAG, "quantity": 1}]}]})
    assert answer.status_code in (400, 422), answer.get_data(as_text=True)
    with db.reader() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Reservation)) == 0


def test_the_rest_api_holds_product_instances_to_the_udi_rule(
        client: FlaskClient, bearer: Callable[..., dict[str, str]], site: Site) -> None:
    answer = client.post("/api/v1/accounts/Acme/virtual-accounts/Lab/devices/transfer",
                         headers=bearer("Acme"), json={"productInstances": [{
                             "sudi": {"udiPid": "P" * 65, "udiSerialNumber": "S"},
                             "targetVirtualAccount": "Spare"}]})
    assert answer.status_code == 400 and answer.get_json()["field"] == "udiPid"


# --- 5, 7, 8: bundles ------------------------------------------------------------------------

def line(**changes: Any) -> dict[str, Any]:
    record = Entitlement(line_id="L1", account="abc.xyz.com", va="Lab", tag=TAG,
                         display_name="Router", license_type="PERPETUAL", quantity=10).to_record()
    record.update(changes)
    return record


def signed(path: Path, central: Central, satellite_id: str, records: list[dict[str, Any]], *,
           serial: int = 1, created_at: datetime = datetime(2026, 3, 1, tzinfo=UTC),
           fields: dict[str, Any] | None = None) -> Path:
    write_bundle(path, kind=CENTRAL_RESPONSE, sender=central.sender, recipient=satellite_id,
                 serial=serial, created_at=created_at, signer=Signer(central.key), records=records,
                 fields={"entitlements": SNAPSHOT, **(fields or {})})
    return path


def signed_ascii(path: Path, central: Central, satellite_id: str,
                 records: list[dict[str, Any]]) -> Path:
    """A signed response whose records are ASCII JSON, so that they can carry lone surrogates
    (which the satellite's own writer cannot encode)."""
    payload = gzip.compress(b"".join(json.dumps(r).encode() + b"\n" for r in records), mtime=0)
    header = Header(kind=CENTRAL_RESPONSE, sender=central.sender, recipient=satellite_id,
                    serial=1, created_at=datetime(2026, 3, 1, tzinfo=UTC),
                    key_id=keys.key_id(keys.public_key_of(central.key)),
                    payload_sha256=hashlib.sha256(payload).hexdigest(),
                    payload_records=len(records), fields={"entitlements": SNAPSHOT})
    head = MAGIC + header.to_line()
    path.write_bytes(head + signing.sign(central.key, head).to_json().encode() + b"\n" + payload)
    return path


def test_an_unsigned_file_with_a_nested_header_is_one_line_for_import_and_inspect(
        abc: Database, cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "nested.bundle"
    path.write_bytes(MAGIC + b'{"a":' * 5000 + b"1" + b"}" * 5000 + b"\n"
                     + b'{"key_id":"x","value":"y"}\n' + b"payload")
    before = dump(abc)
    for command in ("import", "inspect"):
        result = cli("sync", command, str(path))
        one_line(result)
    assert dump(abc) == before


@pytest.mark.parametrize(("record", "message"), [
    (line(quantity=2**31), "quantity"), (line(quantity=2**63), "64 bits"),
    (line(quantity=2**63 - 1), "quantity"), (line(tag=TAG + "\ud800"), "surrogate"),
    (line(tag=TAG + "\x00"), "NUL"), (line(display_name={"a": [[[[[[[[[[1]]]]]]]]]]}),
                                       "nested"),
    (line(start_date="0001-01-01", license_type="TERM", end_date="2027-01-01"),
     "cannot be a license date"),
])
def test_central_values_out_of_bounds_are_refused_and_nothing_changes(
        abc: Database, cli: Cli, central: Central, satellite_id: str, tmp_path: Path,
        record: dict[str, Any], message: str) -> None:
    path = signed_ascii(tmp_path / "r.bundle", central, satellite_id, [record])
    before = dump(abc)
    result = cli("sync", "import", str(path))
    one_line(result)
    assert message in result.err
    assert dump(abc) == before


def test_a_serial_beyond_64_bits_is_refused(abc: Database, cli: Cli, central: Central,
                                            satellite_id: str, tmp_path: Path) -> None:
    path = signed(tmp_path / "r.bundle", central, satellite_id, [line()], serial=2**63)
    one_line(cli("sync", "import", str(path)))


def test_a_policy_of_1e308_is_refused_naming_it(abc: Database, cli: Cli, central: Central,
                                                satellite_id: str, tmp_path: Path) -> None:
    path = signed(tmp_path / "r.bundle", central, satellite_id, [line()],
                  fields={"policy": {"sync_interval_hours": 1e308}})
    before = dump(abc)
    result = cli("sync", "import", str(path))
    one_line(result)
    assert "sync_interval_hours" in result.err
    assert dump(abc) == before


def test_a_failure_after_apply_never_hides_the_apply(db: Database, settings: Settings,
                                                     actor: Actor) -> None:
    # A policy stored before the bounds existed would overflow the next-run time.
    with db.uow() as uow:
        set_state(uow.session, POLICY_PREFIX + "sync_interval_hours", "1e308")
        uow.commit()
    network._record(db, settings, actor, None, lambda: 0.5)
    status = network.sync_status(db, settings, actor)
    assert status["last_success_at"] is not None
    assert status["interval_hours"] == settings.sync_interval_hours


@pytest.mark.parametrize("created_at", [
    datetime(9999, 12, 31, tzinfo=UTC), datetime(1, 1, 1, tzinfo=UTC),
    datetime.now(UTC) + timedelta(days=3650), datetime.now(UTC) + timedelta(days=2)])
def test_a_creation_time_that_cannot_be_true_is_refused(
        abc: Database, cli: Cli, central: Central, satellite_id: str, tmp_path: Path,
        created_at: datetime) -> None:
    path = signed(tmp_path / "r.bundle", central, satellite_id, [line()], created_at=created_at)
    before = dump(abc)
    result = cli("sync", "import", str(path))
    one_line(result)
    assert "created" in result.err
    assert dump(abc) == before


def test_an_old_or_slightly_early_response_is_applied_with_a_warning(
        abc: Database, cli: Cli, central: Central, satellite_id: str, tmp_path: Path) -> None:
    # The CLI reads the system clock.
    now = datetime.now(UTC)
    old = signed(tmp_path / "old.bundle", central, satellite_id, [line()],
                 created_at=now - timedelta(days=40))
    result = cli("sync", "import", str(old), "--json")
    assert result.code == 0, result.err
    (warning,) = json.loads(result.out)["warnings"]
    assert "40 days ago" in warning
    early = signed(tmp_path / "early.bundle", central, satellite_id, [line()], serial=2,
                   created_at=now + timedelta(hours=1))
    result = cli("sync", "import", str(early))
    assert result.code == 0, result.err
    assert "warning: created" in result.out and "ahead of this satellite's clock" in result.out


def test_a_response_larger_than_the_setting_is_refused_before_it_is_read(
        abc: Database, cli: Cli, central: Central, satellite_id: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    path = signed(tmp_path / "r.bundle", central, satellite_id, [line()])
    with path.open("ab") as grown:
        grown.write(b"\0" * (1 << 20))
    monkeypatch.setenv("SATELLITE_MAX_UPLOAD_MB", "1")
    result = cli("sync", "import", str(path))
    one_line(result)
    assert "max_upload_mb" in result.err



# --- free text and counts people type ------------------------------------------------------

def test_free_text_and_counts_are_bounded_the_same_on_every_engine(
        db: Database, client: FlaskClient, bearer: Callable[..., dict[str, str]],
        site: Site) -> None:
    headers = bearer("Acme")
    url = "/api/v1/accounts/Acme/virtual-accounts/Lab/tokens"
    before = dump(db)
    for body, field in (({"description": "d" * 1001}, "description"),
                        ({"description": "a\x1b[2Jb"}, "description"),
                        ({"numberofUses": 2**40}, "max_uses"),
                        ({"numberofUses": 2**31}, "max_uses")):
        answer = client.post(url, headers=headers, json=body)
        assert answer.status_code == 400, (body, answer.get_data(as_text=True))
        assert answer.get_json().get("field") == field, answer.get_json()
    answer = client.post("/api/v1/accounts/Acme/virtual-accounts", headers=headers,
                         json={"name": "Lab2", "description": "x" * 5000})
    assert answer.status_code == 400
    assert dump(db) == before
    # Line breaks are what free text may hold.
    answer = client.post(url, headers=headers, json={"description": "line one\nline two"})
    assert answer.status_code == 200, answer.get_data(as_text=True)


def test_page_positions_beyond_32_bits_are_400s(
        client: FlaskClient, bearer: Callable[..., dict[str, str]], site: Site) -> None:
    headers = bearer("Acme")
    for query in ("limit=99999999999999999999", "offset=99999999999999999999",
                  "limit=2147483648", "offset=-1"):
        answer = client.get(f"/api/v1/accounts/Acme/licenses?{query}", headers=headers)
        assert answer.status_code == 400, (query, answer.get_data(as_text=True)[:200])
        assert answer.get_json()["field"] in ("limit", "offset")

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from satellite.cloudsync.envelope import (
    MAGIC,
    Header,
    canonical_json,
    read_bundle,
    write_bundle,
)
from satellite.crypto import keys
from satellite.crypto.signing import Signer, sign
from satellite.errors import InvalidInput, SatelliteError, VerificationFailed

CREATED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
RECORDS = [{"type": "entitlement", "line_id": f"L{i}", "quantity": i, "name": "Zürich ✓"}
           for i in range(3)]


@pytest.fixture
def key() -> keys.PrivateKey:
    return keys.generate_private_key()


def _write(path: Path, key: keys.PrivateKey, records: list[dict[str, object]] = RECORDS,
           serial: int = 7) -> Header:
    return write_bundle(path, kind="central-response", sender="central-1", recipient="sat-1",
                        serial=serial, created_at=CREATED, signer=Signer(key), records=iter(records),
                        fields={"entitlements": "snapshot"})


def _read_all(path: Path, trusted: keys.PublicKey) -> list[dict[str, object]]:
    with read_bundle(path) as bundle:
        bundle.verify(trusted)
        return list(bundle.records())


def test_round_trip(tmp_path: Path, key: keys.PrivateKey) -> None:
    path = tmp_path / "b.bundle"
    written = _write(path, key)
    with read_bundle(path) as bundle:
        assert bundle.header == written
        assert bundle.header.serial == 7 and bundle.header.payload_records == 3
        assert bundle.header.key_id == keys.key_id(keys.public_key_of(key))
        assert bundle.header.fields == {"entitlements": "snapshot"}
        assert keys.key_id(bundle.verify(keys.public_key_of(key))) == bundle.header.key_id
        assert list(bundle.records()) == RECORDS
    assert path.read_bytes().startswith(MAGIC)
    assert not (tmp_path / "b.bundle.part").exists()


def test_same_content_gives_the_same_bytes(tmp_path: Path) -> None:
    # Deterministic output (gzip without a timestamp, canonical JSON) makes bundles comparable.
    key = keys.private_key_from_raw(bytes(range(32)))
    _write(tmp_path / "a", key)
    _write(tmp_path / "b", key)
    assert (tmp_path / "a").read_bytes() == (tmp_path / "b").read_bytes()
    assert canonical_json({"b": 1, "a": [1, "é"]}) == '{"a":[1,"é"],"b":1}'.encode()


def test_many_records_stream_through(tmp_path: Path, key: keys.PrivateKey) -> None:
    path = tmp_path / "big.bundle"
    count = 50_000
    header = write_bundle(path, kind="usage-batch", sender="sat-1", recipient="central-1",
                          serial=1, created_at=CREATED, signer=Signer(key),
                          records=({"type": "usage", "n": i} for i in range(count)))
    assert header.payload_records == count
    with read_bundle(path) as bundle:
        bundle.verify(keys.public_key_of(key))
        total = sum(int(rec["n"]) for rec in bundle.records())  # type: ignore[call-overload]
    assert total == count * (count - 1) // 2


def test_every_modified_byte_is_refused(tmp_path: Path, key: keys.PrivateKey) -> None:
    path = tmp_path / "b.bundle"
    _write(path, key)
    original = path.read_bytes()
    accepted = []
    for position in range(len(original)):
        tampered = bytearray(original)
        tampered[position] ^= 0x01
        path.write_bytes(bytes(tampered))
        try:
            _read_all(path, keys.public_key_of(key))
        except SatelliteError:
            continue
        accepted.append(position)
    assert accepted == []


@pytest.mark.parametrize("change", ["truncate", "append", "drop_signature"])
def test_truncated_or_extended_files_are_refused(tmp_path: Path, key: keys.PrivateKey,
                                                 change: str) -> None:
    path = tmp_path / "b.bundle"
    _write(path, key)
    data = path.read_bytes()
    if change == "truncate":
        data = data[:-1]
    elif change == "append":
        data = data + b"\n"
    else:
        lines = data.split(b"\n", 3)
        data = b"\n".join([lines[0], lines[1], lines[3]])
    path.write_bytes(data)
    with pytest.raises(SatelliteError):
        _read_all(path, keys.public_key_of(key))


def test_a_bundle_signed_by_another_key_is_refused(tmp_path: Path, key: keys.PrivateKey) -> None:
    path = tmp_path / "b.bundle"
    _write(path, keys.generate_private_key())
    with pytest.raises(VerificationFailed, match="not trusted"):
        _read_all(path, keys.public_key_of(key))


def test_a_header_naming_another_key_than_the_signature_is_refused(
        tmp_path: Path, key: keys.PrivateKey) -> None:
    path = tmp_path / "b.bundle"
    _write(path, key)
    magic, header_line, _sig, payload = path.read_bytes().split(b"\n", 3)
    other = keys.generate_private_key()
    resigned = sign(other, magic + b"\n" + header_line + b"\n").to_json().encode()
    path.write_bytes(b"\n".join([magic, header_line, resigned, payload]))
    with pytest.raises(VerificationFailed, match="names key"):
        _read_all(path, keys.public_key_of(other))


def _resign(path: Path, key: keys.PrivateKey, magic: bytes, header_line: bytes) -> None:
    _m, _h, _s, payload = path.read_bytes().split(b"\n", 3)
    signature = sign(key, magic + header_line).to_json().encode() + b"\n"
    path.write_bytes(magic + header_line + signature + payload)


def test_an_unknown_format_version_in_the_first_line_is_refused(
        tmp_path: Path, key: keys.PrivateKey) -> None:
    path = tmp_path / "b.bundle"
    header = _write(path, key)
    _resign(path, key, b"SATELLITE-BUNDLE/2\n", header.to_line())
    with pytest.raises(InvalidInput, match="format version 2 is not supported"):
        read_bundle(path)


def test_an_unknown_format_version_in_a_signed_header_is_refused(
        tmp_path: Path, key: keys.PrivateKey) -> None:
    path = tmp_path / "b.bundle"
    header = _write(path, key)
    line = header.to_line().replace(b'"format":1', b'"format":2')
    _resign(path, key, MAGIC, line)
    # The header is read when first asked for (after the signature, for whoever has the key).
    with read_bundle(path) as bundle, pytest.raises(InvalidInput,
                                                    match="format version 2 is not supported"):
        bundle.verify(keys.public_key_of(key))


def test_a_file_that_is_not_a_bundle_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello\n")
    with pytest.raises(VerificationFailed, match="is not a Satellite bundle"):
        read_bundle(path)
    with pytest.raises(InvalidInput, match="cannot read"):
        read_bundle(tmp_path / "missing.bundle")


def test_payload_changed_after_verification_fails_at_the_end_of_the_records(
        tmp_path: Path, key: keys.PrivateKey) -> None:
    # An importer applies records in a transaction; the final hash check must still catch a
    # file that changed between verify() and reading.
    path = tmp_path / "b.bundle"
    _write(path, key)
    other = tmp_path / "other.bundle"
    _write(other, key, records=[{"type": "entitlement", "line_id": "X", "quantity": 99}] * 3)
    head, payload_other = path.read_bytes(), other.read_bytes().split(b"\n", 3)[3]
    with read_bundle(path) as bundle:
        bundle.verify(keys.public_key_of(key))
        prefix = head[: len(head) - len(head.split(b"\n", 3)[3])]
        path.write_bytes(prefix + payload_other)
        records = bundle.records()
        with pytest.raises(VerificationFailed, match="does not match its signed hash"):
            list(records)

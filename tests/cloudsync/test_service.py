from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from satellite.actor import Actor
from satellite.audit.models import AuditEvent
from satellite.cloudsync.records import Entitlement
from satellite.cloudsync.service import import_bundle
from satellite.config import Settings
from satellite.crypto import keys
from satellite.errors import ConfigError, InvalidInput, SatelliteError, VerificationFailed
from satellite.keystore import open_keystore
from satellite.state import get_state
from satellite.uow import Database
from tests.cloudsync.conftest import Central, ResponseWriter, dump

TAG = "regid.2024-01.com.example.router-advantage"


def snapshot(quantity: int = 10) -> list[dict[str, object]]:
    return [Entitlement(line_id="L1", account="abc.xyz.com", va="Lab", tag=TAG,
                        display_name="Router", license_type="PERPETUAL",
                        quantity=quantity).to_record()]


@pytest.fixture
def site(abc: Database) -> Database:
    return abc


def do_import(settings: Settings, db: Database, actor: Actor, path: Path) -> object:
    return import_bundle(db, open_keystore(settings), actor, path)


def test_a_valid_response_is_applied_recorded_and_audited(
        settings: Settings, site: Database, actor: Actor, response: ResponseWriter) -> None:
    report = do_import(settings, site, actor, response(snapshot(), serial=3))
    assert report.snapshot is not None and report.snapshot.added == 1  # type: ignore[attr-defined]
    lines, state = dump(site)
    assert [(ln[5], ln[10]) for ln in lines] == [(10, "L1")]
    assert ("sync.last_response_serial", "3") in state
    with site.reader() as uow:
        event = uow.session.scalar(select(AuditEvent).where(AuditEvent.action == "sync.import"))
        assert event is not None and '"added": 1' in event.details and event.target.endswith("/3")


def test_a_newer_response_applies_changes(
        settings: Settings, site: Database, actor: Actor, response: ResponseWriter) -> None:
    do_import(settings, site, actor, response(snapshot(10), serial=1))
    do_import(settings, site, actor, response(snapshot(6), serial=2))
    assert [ln[5] for ln in dump(site)[0]] == [6]
    do_import(settings, site, actor, response([], serial=5))
    assert dump(site)[0] == []


def _flip(path: Path, offset_from_end: int) -> Path:
    data = bytearray(path.read_bytes())
    data[len(data) - offset_from_end] ^= 0x20
    path.write_bytes(bytes(data))
    return path


REFUSALS = {
    "modified payload byte": (lambda w, c, sid: _flip(w(snapshot(), serial=2), 12),
                              VerificationFailed, "does not match its signed hash"),
    "modified header byte": (lambda w, c, sid: _header_changed(w(snapshot(), serial=2)),
                             VerificationFailed, "modified after signing"),
    "wrong signer": (lambda w, c, sid: w(snapshot(), serial=2, key=keys.generate_private_key()),
                     VerificationFailed, "not trusted"),
    "replay": (lambda w, c, sid: w(snapshot(), serial=1),
               VerificationFailed, "not newer than the last response applied \\(1\\)"),
    "rollback": (lambda w, c, sid: w(snapshot(), serial=0),
                 VerificationFailed, "replay or a rollback"),
    "another satellite": (lambda w, c, sid: w(snapshot(), serial=2, recipient="other-sat"),
                          VerificationFailed, "addressed to satellite other-sat"),
    "unknown version": (lambda w, c, sid: _version_2(w(snapshot(), serial=2)),
                        InvalidInput, "format version 2 is not supported"),
    "not a response": (lambda w, c, sid: w(snapshot(), serial=2, kind="usage-batch"),
                       InvalidInput, "not a response from Central"),
    "unknown record type": (lambda w, c, sid: w([{"type": "surprise"}], serial=2),
                            InvalidInput, "type 'surprise'"),
    "records without snapshot": (lambda w, c, sid: w(snapshot(), serial=2, fields={}),
                                 InvalidInput, "without an entitlement snapshot"),
}


def _header_changed(path: Path) -> Path:
    data = path.read_bytes()
    path.write_bytes(data.replace(b'"serial":2', b'"serial":9', 1))
    return path


def _version_2(path: Path) -> Path:
    path.write_bytes(path.read_bytes().replace(b"SATELLITE-BUNDLE/1", b"SATELLITE-BUNDLE/2", 1))
    return path


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_refused_imports_change_nothing(
        case: str, settings: Settings, site: Database, actor: Actor, response: ResponseWriter,
        central: Central, satellite_id: str) -> None:
    do_import(settings, site, actor, response(snapshot(10), serial=1))
    before = dump(site)
    make, error, message = REFUSALS[case]
    with pytest.raises(error, match=message):
        do_import(settings, site, actor, make(response, central, satellite_id))
    assert dump(site) == before


def test_without_a_trust_anchor_nothing_is_imported(
        db: Database, settings: Settings, actor: Actor, response: ResponseWriter) -> None:
    before = dump(db)
    with pytest.raises(ConfigError, match="no Central key is configured"):
        import_bundle(db, open_keystore(settings), actor, response(snapshot(), serial=1))
    assert dump(db) == before


def test_a_payload_that_changes_while_applied_rolls_everything_back(
        settings: Settings, site: Database, actor: Actor, response: ResponseWriter,
        monkeypatch: pytest.MonkeyPatch) -> None:
    # verify() passes, then the bytes read while applying differ: the final hash check must
    # roll the transaction back.
    from satellite.cloudsync import envelope

    path = response(snapshot(), serial=1)
    good_verify = envelope.BundleReader.verify

    def verify_then_swap(self: envelope.BundleReader, trusted: keys.PublicKey) -> keys.PublicKey:
        signer = good_verify(self, trusted)
        _flip(path, 12)
        return signer

    monkeypatch.setattr(envelope.BundleReader, "verify", verify_then_swap)
    before = dump(site)
    with pytest.raises(SatelliteError):
        do_import(settings, site, actor, path)
    assert dump(site) == before
    with site.reader() as uow:
        assert get_state(uow.session, "sync.last_response_serial") is None

"""Register, report, export, ingest at Central, respond, import: nothing lost, nothing twice."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from satellite.accounts.models import VirtualAccount
from satellite.actor import Actor
from satellite.central.ingest import satellites
from satellite.clock import FixedClock
from satellite.cloudsync import outbound
from satellite.cloudsync.envelope import write_bundle
from satellite.cloudsync.records import EVENT, USAGE_BATCH
from satellite.config import Settings
from satellite.crypto import keys
from satellite.crypto.signing import Signer
from satellite.errors import ConfigError, Conflict, InvalidInput, NotFound, VerificationFailed
from satellite.reservation.signer import code_signer
from satellite.uow import Database
from tests.cloudsync.conftest import dump
from tests.cloudsync.lab import TAG, Lab, make_lab


@pytest.fixture
def lab(db: Database, settings: Settings, actor: Actor, clock: FixedClock,
        tmp_path: Path) -> Lab:
    return make_lab(db, settings, actor, clock, tmp_path)


def _lab_va(lab: Lab) -> int:
    with lab.db.reader() as uow:
        return uow.session.scalar(select(VirtualAccount.id).where(VirtualAccount.name == "Lab"))


def test_register_report_export_ingest_respond_import(lab: Lab) -> None:
    assert lab.state("registration_state") is None
    with pytest.raises(ConfigError, match="not registered with Central"):
        lab.export()
    registration = lab.register()
    assert lab.state("registration_state") == "pending"
    assert lab.ingest(registration).notes == ["registered"]
    lab.entitle(10)
    first = lab.apply(lab.respond())
    assert first.registered and first.snapshot and first.snapshot.added == 1
    assert lab.state("registration_state") == "registered"
    assert lab.keystore.satellite_certificate() is not None

    va = _lab_va(lab)
    lab.report_usage("PID:A1", va, 3)
    lab.report_usage("PID:B2", va, 2)
    batch, export = lab.export()
    assert (export.first_sequence, export.last_sequence, export.count) == (1, 2, 2)
    # Exported again before Central answers: the same events, none dropped.
    lab.report_usage("PID:A1", va, 4)
    again, export2 = lab.export()
    assert (export2.first_sequence, export2.last_sequence) == (1, 3)

    got = lab.ingest(batch)
    assert (got.new, got.duplicates, got.acked_through, got.missing) == (2, 0, 2, [])
    got = lab.ingest(again)
    assert (got.new, got.duplicates, got.acked_through) == (1, 2, 3)
    assert lab.ingest(batch).duplicates == 2  # a replayed batch counts nothing twice

    response = lab.respond()
    with lab.db.reader() as uow:
        assert outbound.pending_count(uow.session) == 3
    report = lab.apply(response)
    assert (report.ack_through, report.newly_acked) == (3, 3)
    with lab.db.reader() as uow:
        assert outbound.pending_count(uow.session) == 0

    lab.report_usage("PID:C3", va, 1)
    _, only_new = lab.export()
    assert (only_new.first_sequence, only_new.last_sequence, only_new.count) == (4, 4, 1)

    [kept] = satellites(lab.central_dir)
    assert kept["acked_through"] == 3 and kept["events"] == 3
    assert {(u["device"], u["count"]) for u in kept["usage"]} == {("PID:A1", 4), ("PID:B2", 2)}


def test_central_reports_a_gap_and_acknowledges_only_up_to_it(lab: Lab) -> None:
    lab.registered()
    va = _lab_va(lab)
    for device in ("A", "B", "C"):
        lab.report_usage(device, va, 1)
    batch, _ = lab.export()
    # A batch that lost event 2 on the way, still signed by this satellite.
    holey = lab.file("holey")
    with lab.db.reader() as uow:
        events = [e for e in outbound.events(uow.session, 0, 3) if e.seq != 2]
    write_bundle(holey, kind=USAGE_BATCH, sender=lab.satellite_id, recipient="central",
                 serial=99, created_at=lab.now(), signer=lab.keystore.identity_signer(),
                 records=[{"type": EVENT, "seq": e.seq, "kind": e.kind,
                           "at": e.at.isoformat(), "data": e.data} for e in events],
                 fields={"count": 2, "first_sequence": 1, "last_sequence": 3})
    got = lab.ingest(holey)
    assert (got.new, got.missing, got.acked_through) == (2, [(2, 2)], 1)
    got = lab.ingest(batch)
    assert (got.new, got.duplicates, got.acked_through) == (1, 2, 3)


def _flip(path: Path, offset: int = -20) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def test_central_refuses_forged_or_modified_batches_and_keeps_nothing(lab: Lab) -> None:
    lab.registered()
    lab.report_usage("A", _lab_va(lab), 1)
    batch, _ = lab.export()
    before = json.dumps(satellites(lab.central_dir))

    modified = lab.file("modified")
    modified.write_bytes(batch.read_bytes())
    _flip(modified)
    with pytest.raises(VerificationFailed, match="does not match its signed hash"):
        lab.ingest(modified)

    other = lab.file("other-key")
    write_bundle(other, kind=USAGE_BATCH, sender=lab.satellite_id, recipient="central",
                 serial=5, created_at=lab.now(), signer=Signer(keys.generate_private_key()),
                 records=[], fields={"count": 0, "first_sequence": None, "last_sequence": None})
    with pytest.raises(VerificationFailed, match="not trusted"):
        lab.ingest(other)

    stranger = lab.file("stranger")
    write_bundle(stranger, kind=USAGE_BATCH, sender="someone-else", recipient="central",
                 serial=1, created_at=lab.now(), signer=lab.keystore.identity_signer(),
                 records=[], fields={})
    with pytest.raises(NotFound, match="not registered"):
        lab.ingest(stranger)

    # The same satellite id asking to register with another key is refused.
    forged = lab.file("forged-registration")
    key = keys.generate_private_key()
    write_bundle(forged, kind="registration-request", sender=lab.satellite_id,
                 recipient="central", serial=9, created_at=lab.now(), signer=Signer(key), records=[],
                 fields={"public_key": keys.public_key_to_pem(keys.public_key_of(key)).decode(),
                         "version": "x"})
    with pytest.raises(Conflict, match="another key"):
        lab.ingest(forged)
    assert json.dumps(satellites(lab.central_dir)) == before


def test_a_response_acknowledging_events_never_logged_changes_nothing(
        lab: Lab, db: Database) -> None:
    lab.registered()
    lab.report_usage("A", _lab_va(lab), 1)
    batch, _ = lab.export()
    lab.ingest(batch)
    # Central acknowledges 1, but this database (restored from an old backup) logged nothing.
    with db.uow() as uow:
        from satellite.cloudsync.models import OutboundEvent, OutboundHead

        uow.session.query(OutboundEvent).delete()
        uow.session.get(OutboundHead, 1).last_seq = 0  # type: ignore[union-attr]
        uow.commit()
    before = dump(db)
    with pytest.raises(InvalidInput, match="logged only 0"):
        lab.apply(lab.respond())
    assert dump(db) == before


def test_dry_run_shows_the_difference_and_changes_nothing(lab: Lab, db: Database) -> None:
    lab.registered()
    line = lab.entitle(5)
    lab.apply(lab.respond())
    va = _lab_va(lab)
    lab.report_usage("PID:A1", va, 4)
    from satellite.central import service as central

    central.set_quantity(lab.central_dir, line, 2)
    lab.entitle(1, va=None)
    response = lab.respond()
    before = dump(db)
    report = lab.apply(response, dry_run=True)
    assert dump(db) == before
    changes = {(v.account, v.va): (v.added, v.removed, v.changed) for v in report.diff.vas}
    assert changes == {("abc.xyz.com", "Lab"): (0, 0, 1), ("abc.xyz.com", "Default"): (1, 0, 0)}
    [flip] = report.diff.compliance
    assert (flip.va, flip.tag, flip.before, flip.after, flip.devices) == (
        "Lab", TAG, "In Compliance", "Out Of Compliance", ["PID:A1"])
    # The real import applies the same and raises the compliance alert.
    applied = lab.apply(response)
    assert applied.diff.to_json() == report.diff.to_json()
    from satellite.alerts.service import list_alerts

    with db.reader() as uow:
        kinds = [a.kind for a in list_alerts(uow.session, Actor.local_operator())]
    assert kinds == ["out_of_compliance"]


def test_a_certificate_for_another_key_is_refused(lab: Lab, db: Database,
                                                   clock: FixedClock) -> None:
    lab.ingest(lab.register())
    response = lab.respond()
    # The satellite's identity key was replaced since it asked to be registered.
    keys_dir = lab.settings.data_dir / "keys"
    for name in ("identity.key", "identity.pub"):
        (keys_dir / name).unlink()
    lab.keystore.ensure_keys(lab.satellite_id, clock.now())
    before = dump(db)
    with pytest.raises(VerificationFailed, match="send a new registration request"):
        lab.apply(response)
    assert dump(db) == before
    clock.advance(timedelta(minutes=1))


def test_the_certificate_reaches_every_node_through_the_database(lab: Lab) -> None:
    """A node with a copy of keys/ taken before registration still signs codes devices verify."""
    lab.ingest(lab.register())
    lab.apply(lab.respond())
    issued = lab.keystore.satellite_certificate()
    assert issued is not None
    # Another node: same keys, but its key directory never saw Central's answer.
    (lab.keystore.directory / "satellite.crt").unlink()
    assert lab.keystore.satellite_certificate() is None
    signer = code_signer(lab.db, lab.keystore)
    assert signer.certificate == issued
    assert signer.chain(lab.db.clock.now()) == issued

"""Importing and inspecting what Central sends: verify everything, then apply in one transaction."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from satellite.access.policy import require
from satellite.actor import Actor
from satellite.audit.service import record
from satellite.cloudsync import LAST_SERIAL_KEY
from satellite.cloudsync.entitlements import SnapshotReport, apply_entitlements
from satellite.cloudsync.envelope import BundleReader, Header, read_bundle
from satellite.cloudsync.records import CENTRAL_RESPONSE, ENTITLEMENT, Entitlement
from satellite.crypto.keys import PublicKey, key_id
from satellite.errors import ConfigError, InvalidInput, SatelliteError, VerificationFailed
from satellite.state import get_state, lock_state, set_state
from satellite.uow import Database, UnitOfWork

# A response's header field `entitlements` is "snapshot" when its records list every line.
SNAPSHOT = "snapshot"


@dataclass(frozen=True)
class ImportReport:
    header: Header
    signer_key_id: str
    previous_serial: int
    snapshot: SnapshotReport | None


def _entitlements(records: Iterator[dict[str, Any]]) -> Iterator[Entitlement]:
    for number, rec in enumerate(records, start=1):
        if rec["type"] != ENTITLEMENT:
            raise InvalidInput(f"record {number} is of type {rec['type']!r}, "
                               "which this satellite does not know")
        yield Entitlement.from_record(rec, number)


def _last_serial(value: str | None) -> int:
    return int(value) if value is not None else 0


def import_bundle(db: Database, anchor: PublicKey | None, actor: Actor, path: Path) -> ImportReport:
    """Verify a response from Central and apply it in one transaction.

    Raises ConfigError (no anchor), VerificationFailed (modified, wrong signer, addressed to
    another satellite, replay or rollback) or InvalidInput; nothing is changed then.
    """
    with db.reader() as uow:
        require(uow.session, actor, "sync.import")
    if anchor is None:
        raise ConfigError("no Central key is configured: run `satellite init --central-key FILE`")
    with read_bundle(path) as bundle:
        signer = bundle.verify(anchor)
        header = bundle.header
        if header.kind != CENTRAL_RESPONSE:
            raise InvalidInput(f"{path} is a {header.kind!r} bundle, not a response from Central")
        with db.uow() as uow:
            session = uow.session
            satellite_id = get_state(session, "satellite_id")
            if header.recipient != satellite_id:
                raise VerificationFailed(f"{path} is addressed to satellite {header.recipient}, "
                                         f"not to this one ({satellite_id})")
            previous = _last_serial(lock_state(session, LAST_SERIAL_KEY))
            if header.serial <= previous:
                raise VerificationFailed(
                    f"{path} has serial {header.serial}, not newer than the last response applied "
                    f"({previous}): it is a replay or a rollback")
            snapshot = _apply(uow, actor, bundle)
            set_state(session, LAST_SERIAL_KEY, str(header.serial))
            set_state(session, "sync.last_response_created_at", header.created_at.isoformat())
            set_state(session, "sync.last_import_at", uow.clock.now().isoformat())
            record(uow, actor, "sync.import", f"central:{header.sender}/{header.serial}",
                   details={"serial": header.serial, "previous_serial": previous,
                            "key_id": header.key_id, "payload_sha256": header.payload_sha256,
                            "entitlements": snapshot.summary() if snapshot else None})
            uow.commit()
    return ImportReport(header, key_id(signer), previous, snapshot)


def _apply(uow: UnitOfWork, actor: Actor, bundle: BundleReader) -> SnapshotReport | None:
    records = bundle.records()
    if bundle.header.fields.get("entitlements") == SNAPSHOT:
        return apply_entitlements(uow, actor, _entitlements(records))
    # Reading to the end still checks the hash; a response without a snapshot carries no lines.
    first = next(records, None)
    if first is not None:
        raise InvalidInput(f"record 1 is of type {first['type']!r}, which this satellite "
                           "does not expect in a response without an entitlement snapshot")
    return None


@dataclass(frozen=True)
class SignatureStatus:
    valid: bool | None  # None: not checked, no anchor configured
    detail: str


def check_signature(bundle: BundleReader, anchor: PublicKey | None) -> SignatureStatus:
    """Say whether the bundle verifies against the anchor, without raising."""
    if anchor is None:
        return SignatureStatus(None, "not checked: no Central key is configured")
    try:
        signer = bundle.verify(anchor)
    except SatelliteError as exc:
        return SignatureStatus(False, exc.message)
    return SignatureStatus(True, f"valid, signed by Central's key {key_id(signer)}")


@dataclass(frozen=True)
class LocalView:
    """What this satellite would think of the bundle, when its database is at hand."""

    satellite_id: str
    last_serial: int


def local_view(db: Database) -> LocalView:
    with db.reader() as uow:
        satellite_id = get_state(uow.session, "satellite_id") or ""
        last = _last_serial(get_state(uow.session, LAST_SERIAL_KEY))
    return LocalView(satellite_id, last)


def describe_header(header: Header) -> dict[str, Any]:
    return {"format": header.format, "kind": header.kind, "sender": header.sender,
            "recipient": header.recipient, "serial": header.serial,
            "created_at": header.created_at.isoformat(), "key_id": header.key_id,
            "payload_sha256": header.payload_sha256, "records": header.payload_records,
            "fields": dict(header.fields)}


def created_text(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S UTC")

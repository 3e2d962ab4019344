"""Importing and inspecting what Central sends: verify everything, then apply in one transaction."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from satellite.accounts import export_control
from satellite.actor import Actor
from satellite.alerts import service as alerts
from satellite.audit.service import record
from satellite.central_settings import BOUNDS, KEYS, STATE_PREFIX, central_setting
from satellite.cloudsync import LAST_SERIAL_KEY, classic, outbound
from satellite.cloudsync import sync_history as history
from satellite.cloudsync.central_registration import check_certificate, mark_registered
from satellite.cloudsync.diff import ImportDiff, capture, compare
from satellite.cloudsync.entitlements import SnapshotReport, apply_entitlements
from satellite.cloudsync.envelope import BundleReader, Header, read_bundle
from satellite.cloudsync.export import Progress
from satellite.cloudsync.records import (
    ACCOUNT_CATEGORY,
    CENTRAL_RESPONSE,
    ENTITLEMENT,
    RUM_ACK,
    SIDE_RECORDS,
    Entitlement,
)
from satellite.config import Settings
from satellite.crypto.keys import PublicKey, key_id
from satellite.errors import ConfigError, InvalidInput, SatelliteError, VerificationFailed
from satellite.keystore import Keystore
from satellite.permissions.policy import require
from satellite.slup.acks import apply_central_acks
from satellite.state import get_state, lock_state, set_state
from satellite.uow import Database, UnitOfWork

# A response's header field `entitlements` is "snapshot" when its records list every line.
SNAPSHOT = "snapshot"
# Settings Central may set for this satellite; kept as satellite_state "policy.<name>".
# A response's creation time: refused before EARLIEST_CREATED or past FUTURE_LIMIT ahead of
# the local clock; warned about past CLOCK_SLACK ahead or STALE_AFTER old.
EARLIEST_CREATED = datetime(2000, 1, 1, tzinfo=UTC)
FUTURE_LIMIT = timedelta(days=1)
CLOCK_SLACK = timedelta(minutes=10)
STALE_AFTER = timedelta(days=30)


@dataclass(frozen=True)
class ImportReport:
    header: Header
    signer_key_id: str
    previous_serial: int
    snapshot: SnapshotReport | None
    diff: ImportDiff
    ack_through: int | None = None
    newly_acked: int = 0
    registered: bool = False
    policy: dict[str, Any] = field(default_factory=dict)
    dry_run: bool = False
    rum_acks: dict[str, int] = field(default_factory=dict)
    classic_licenses: classic.ClassicReport | None = None
    # What is odd about the response but could be true (e.g. created long ago).
    warnings: tuple[str, ...] = ()
    categories: export_control.CentralCategories = field(
        default_factory=export_control.CentralCategories)


Sides = dict[str, list[dict[str, Any]]]
"""A response's records other than entitlement lines, by type (SIDE_RECORDS)."""


def _entitlements(records: Iterator[dict[str, Any]], sides: Sides) -> Iterator[Entitlement]:
    """The entitlement lines of a response; its other records go to `sides`."""
    for number, rec in enumerate(records, start=1):
        if rec["type"] in SIDE_RECORDS:
            sides.setdefault(rec["type"], []).append(rec)
            continue
        if rec["type"] != ENTITLEMENT:
            raise InvalidInput(f"record {number} is of type {rec['type']!r}, "
                               "which this satellite does not know")
        yield Entitlement.from_record(rec, number)


def _last_serial(value: str | None) -> int:
    return int(value) if value is not None else 0


def _ack(fields: Mapping[str, Any]) -> int | None:
    value = fields.get("ack_through")
    if value is not None and (type(value) is not int or value < 0):
        raise InvalidInput("the response's ack_through is not a sequence number")
    return value


def _policy(fields: Mapping[str, Any]) -> dict[str, Any]:
    policy = fields.get("policy") or {}
    if not isinstance(policy, dict):
        raise InvalidInput("the response's policy is not a JSON object")
    for key, value in policy.items():
        if key not in KEYS:
            raise InvalidInput(f"the response sets policy {key!r}, which this satellite does "
                               f"not know (it knows {', '.join(KEYS)})")
        low, high = BOUNDS[key]
        if isinstance(value, bool) or not isinstance(value, int | float) \
                or not low <= value <= high:
            raise InvalidInput(f"the response's policy {key} must be a number from {low} to "
                               f"{high}, not {str(value)[:20]}", field=key)
    return dict(policy)


def require_import(db: Database, actor: Actor) -> None:
    """Raises unless the actor may apply sync files, which it must before the appliance reads,
    stores or previews one for it (uploads are work and disk space)."""
    with db.reader() as uow:
        require(uow.session, actor, "sync.import")


def import_bundle(db: Database, keystore: Keystore, actor: Actor, path: Path, *,
                  dry_run: bool = False, progress: Progress | None = None,
                  overdue_days: int = Settings.sync_overdue_days,
                  expiry_days: int = Settings.expiry_notice_days,
                  max_bytes: int = Settings.max_upload_mb << 20) -> ImportReport:
    """Verify a response from Central and apply it in one transaction (or, dry, roll it back).

    Applies the entitlement snapshot, the acknowledgement of logged events, the satellite
    certificate and policy. Raises ConfigError (no anchor), VerificationFailed (modified, wrong
    signer, addressed to another satellite, replay or rollback) or InvalidInput; nothing is
    changed then.
    """
    require_import(db, actor)
    try:
        _check_size(path, max_bytes)
        return _import(db, keystore, actor, path, dry_run, progress, overdue_days, expiry_days)
    except SatelliteError as exc:
        if not dry_run:
            history.add_failure(db, actor, history.IMPORT, exc.message)
        raise


def _import(db: Database, keystore: Keystore, actor: Actor, path: Path, dry_run: bool,
            progress: Progress | None, overdue_days: int, expiry_days: int) -> ImportReport:
    anchor = keystore.central_key()
    if anchor is None:
        raise ConfigError("no Central key is configured: run `satellite init --central-key FILE`")
    with read_bundle(path) as bundle:
        signer = bundle.verify(anchor)
        header = bundle.header
        if header.kind != CENTRAL_RESPONSE:
            raise InvalidInput(f"{path} is a {header.kind!r} bundle, not a response from Central")
        ack, policy = _ack(header.fields), _policy(header.fields)
        with db.uow() as uow:
            session = uow.session
            now = uow.clock.now()
            satellite_id = get_state(session, "satellite_id") or ""
            if header.recipient != satellite_id:
                raise VerificationFailed(f"{path} is addressed to satellite {header.recipient}, "
                                         f"not to this one ({satellite_id})")
            previous = _last_serial(lock_state(session, LAST_SERIAL_KEY))
            if header.serial <= previous:
                raise VerificationFailed(
                    f"{path} has serial {header.serial}, not newer than the last response applied "
                    f"({previous}): it is a replay or a rollback")
            warnings = check_created(header.created_at, now,
                                     get_state(session, "sync.last_response_created_at"))
            certificate = check_certificate(header.fields, keystore, anchor, satellite_id, now)
            before = capture(session, now.date())
            sides: Sides = {}
            snapshot = _apply(uow, actor, bundle, progress, sides)
            rum_acks = apply_central_acks(uow, actor, sides.get(RUM_ACK, []), now)
            classic_report = _classic(uow, actor, header, sides, now)
            categories = export_control.apply_central(uow, actor,
                                                      sides.get(ACCOUNT_CATEGORY, []))
            newly_acked = outbound.acknowledge(session, ack) if ack is not None else 0
            changes = compare(session, before, now.date())
            report = ImportReport(header, key_id(signer), previous, snapshot, changes, ack,
                                  newly_acked, certificate is not None, policy, dry_run,
                                  rum_acks, classic_report,
                                  tuple(warnings), categories)
            if dry_run:
                return report
            set_state(session, LAST_SERIAL_KEY, str(header.serial))
            set_state(session, "sync.last_response_created_at", header.created_at.isoformat())
            set_state(session, "sync.last_import_at", now.isoformat())
            if certificate is not None:
                mark_registered(session, header.sender, certificate)
            for key, value in policy.items():
                set_state(session, STATE_PREFIX + key, str(value))
            alerts.evaluate(session, now, int(central_setting(
                session, "sync_overdue_days", overdue_days)), expiry_days)
            record(uow, actor, "sync.import", f"central:{header.sender}/{header.serial}",
                   details={"serial": header.serial, "previous_serial": previous,
                            "key_id": header.key_id, "payload_sha256": header.payload_sha256,
                            "entitlements": snapshot.summary() if snapshot else None,
                            "ack_through": ack, "newly_acked": newly_acked,
                            "classic": classic_report.summary() if classic_report else None,
                            "registered": certificate is not None, "policy": policy,
                            "account_categories": list(categories.changed),
                            "warnings": warnings})
            history.add(session, actor, now, history.IMPORT, serial=header.serial,
                        records=header.payload_records,
                        summary=_summary(snapshot, newly_acked, certificate is not None))
            uow.commit()
    if certificate is not None:
        keystore.record_satellite_certificate(certificate)
    return report


def _check_size(path: Path, max_bytes: int) -> None:
    """Before a byte is parsed: a response larger than max_upload_mb is refused."""
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InvalidInput(f"cannot read {path}: {exc.strerror}") from None
    if size > max_bytes:
        raise InvalidInput(f"{path} is {size:,} bytes, more than the {max_bytes:,} this satellite "
                           "takes (setting max_upload_mb)")


def check_created(created_at: datetime, now: datetime, last_applied: str | None) -> list[str]:
    """Refuse a creation time that cannot be true; return warnings for one that is odd.

    Raises VerificationFailed (before 2000, or more than a day after this satellite's clock).
    """
    if created_at < EARLIEST_CREATED:
        raise VerificationFailed(f"the response says it was created {created_text(created_at)}, "
                                 f"before {EARLIEST_CREATED.year}: that cannot be true")
    if created_at > now + FUTURE_LIMIT:
        raise VerificationFailed(
            f"the response says it was created {created_text(created_at)}, more than a day "
            f"after this satellite's clock ({created_text(now)}): check the clock here and at "
            "Central")
    warnings = []
    if created_at > now + CLOCK_SLACK:
        warnings.append(f"created {created_text(created_at)}, ahead of this satellite's clock "
                        f"({created_text(now)}): check the clocks")
    if now - created_at > STALE_AFTER:
        warnings.append(f"created {created_text(created_at)}, {(now - created_at).days} days "
                        "ago: newer responses may exist")
    if last_applied is not None and created_at < datetime.fromisoformat(last_applied):
        warnings.append(f"created before the last response applied ({last_applied})")
    return warnings


def _summary(snapshot: SnapshotReport | None, newly_acked: int, registered: bool) -> str:
    parts = []
    if snapshot is not None:
        parts.append(f"{snapshot.added} lines added, {snapshot.updated} updated, "
                     f"{snapshot.removed} removed")
    parts.append(f"{newly_acked} events acknowledged")
    if registered:
        parts.append("registration certificate")
    return "; ".join(parts)


def _apply(uow: UnitOfWork, actor: Actor, bundle: BundleReader, progress: Progress | None,
           sides: Sides) -> SnapshotReport | None:
    records = _counted(bundle.records(), progress)
    if bundle.header.fields.get("entitlements") == SNAPSHOT:
        return apply_entitlements(uow, actor, _entitlements(records, sides))
    # Reading to the end still checks the hash; a response without a snapshot carries no lines.
    first = next(records, None)
    while first is not None and first["type"] in SIDE_RECORDS:
        sides.setdefault(first["type"], []).append(first)
        first = next(records, None)
    if first is not None:
        raise InvalidInput(f"record 1 is of type {first['type']!r}, which this satellite "
                           "does not expect in a response without an entitlement snapshot")
    return None


def _classic(uow: UnitOfWork, actor: Actor, header: Header, sides: Sides,
             now: datetime) -> classic.ClassicReport | None:
    records = [rec for kind in classic.TYPES for rec in sides.get(kind, [])]
    complete = classic.LICENSES_FIELD in header.fields
    if not records and not complete:
        return None
    return classic.apply_classic(uow, actor, records, complete, now)


def _counted(records: Iterator[dict[str, Any]],
             progress: Progress | None) -> Iterator[dict[str, Any]]:
    for rec in records:
        yield rec
        if progress is not None:
            progress(1)


@dataclass(frozen=True)
class SignatureStatus:
    valid: bool | None  # None: not checked, no anchor configured
    detail: str


def check_signature(bundle: BundleReader, trusted: PublicKey | None, whose: str = "Central's",
                    missing: str = "no Central key is configured") -> SignatureStatus:
    """Say whether the bundle verifies against `trusted`, without raising."""
    if trusted is None:
        return SignatureStatus(None, f"not checked: {missing}")
    try:
        signer = bundle.verify(trusted)
    except SatelliteError as exc:
        return SignatureStatus(False, exc.message)
    return SignatureStatus(True, f"valid, signed by {whose} key {key_id(signer)}")


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

"""Importing SLUP usage files: reports kept verbatim, devices found or created, consumption counted.

One import is one transaction: a malformed file anywhere refuses the whole import and
nothing is recorded. Reports are handled in batches as they are read, so memory stays flat
whatever the number of reports.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import IO, Any

from sqlalchemy import and_, select, true, update
from sqlalchemy.orm import Session

from satellite.accounts.models import Account, VirtualAccount
from satellite.accounts.service import va_for
from satellite.actor import Actor
from satellite.alerts.models import DEVICE_TAKEOVER
from satellite.alerts.service import raise_alert
from satellite.audit.service import record
from satellite.cloudsync import outbound
from satellite.db import in_chunks
from satellite.devices import evaluation
from satellite.devices.checkin import UNLICENSED, refusal
from satellite.devices.models import (
    AGENT,
    AUTHORIZED,
    DEREGISTERED,
    OUT_OF_COMPLIANCE,
    REGISTERED,
    SLUP,
    Device,
)
from satellite.devices.registration import device_actor, owner_of, udi_label
from satellite.devices.upstream import usage_facts
from satellite.errors import Conflict, NotFound, PermissionDenied
from satellite.licenses.counters import tag_pools
from satellite.licenses.usage import owners_usage, set_usages
from satellite.slup.archives import documents
from satellite.slup.formats import RumReport, Skipped, read_usage
from satellite.slup.models import RumReportRow, SlupUsage
from satellite.uow import UnitOfWork

BATCH = 2000
# SLUP devices carry no satellite-issued certificate; this date keeps certificate aging away.
NO_CERTIFICATE = datetime(9999, 12, 31, tzinfo=UTC)
Source = tuple[str, IO[bytes]]


@dataclass
class ImportSummary:
    """What an import found: per device and tag, new and known reports, and what it passed over."""

    account: str
    va: str
    files: list[str] = field(default_factory=list)
    new: int = 0
    known: int = 0
    devices: dict[str, dict[str, Any]] = field(default_factory=dict)
    tags: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, int] = field(default_factory=dict)
    refused: dict[str, str] = field(default_factory=dict)
    flagged: list[dict[str, Any]] = field(default_factory=list)
    dry_run: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"account": self.account, "virtualAccount": self.va, "files": self.files,
                "reports": self.new + self.known, "new": self.new, "known": self.known,
                "devices": self.devices, "tags": self.tags, "skipped": self.skipped,
                "refused": self.refused, "flagged": self.flagged, "dryRun": self.dry_run}

    def text(self) -> str:
        created = sum(1 for d in self.devices.values() if d["created"])
        parts = [f"{self.new + self.known} reports ({self.new} new, {self.known} already known) "
                 f"from {len(self.devices)} devices ({created} new) in "
                 f"{self.account}/{self.va}; tags: "
                 + (", ".join(f"{t} ({n})" for t, n in sorted(self.tags.items())) or "none")]
        if self.skipped:
            parts.append("skipped: " + ", ".join(f"{n} <{k}>" for k, n in
                                                 sorted(self.skipped.items())))
        for udi, why in sorted(self.refused.items()):
            parts.append(f"refused {udi}: {why}")
        for flag in self.flagged[:20]:
            parts.append(f"flagged {flag['udi']} report {flag['report_id']}: "
                         f"{', '.join(flag['flags'])}")
        if self.dry_run:
            parts.append("dry run: nothing was recorded")
        return "\n".join(parts)


@dataclass
class _Known:
    id: int
    va_id: int
    created: bool


def _reports(sources: Iterable[Source], summary: ImportSummary,
             skipped: Skipped) -> Iterator[RumReport]:
    for name, stream in sources:
        for document, inner in documents(stream, name):
            summary.files.append(document)
            yield from read_usage(inner, document, skipped)


def _batches(reports: Iterator[RumReport]) -> Iterator[list[RumReport]]:
    batch: list[RumReport] = []
    for report in reports:
        batch.append(report)
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def import_usage(uow: UnitOfWork, actor: Actor, account_ref: str, va_name: str,
                 sources: Iterable[Source], *, dry_run: bool = False) -> ImportSummary:
    """Import usage files and offline archives into a VA (the caller commits unless dry).

    Devices seen for the first time are created in the VA, reporting by SLUP; a device of
    another account is refused (and audited), never moved. Raises InvalidInput naming the
    file, the report and the problem for anything malformed, PermissionDenied / NotFound.
    """
    session, now = uow.session, uow.clock.now()
    account, va = va_for(session, actor, account_ref, va_name, "slup.upload")
    summary = ImportSummary(account.name, va.name, dry_run=dry_run)
    skipped = Skipped()
    devices: dict[tuple[str, str], _Known | None] = {}
    touched: set[int] = set()
    for batch in _batches(_reports(sources, summary, skipped)):
        _store(uow, actor, account, va, batch, devices, touched, summary, now)
    summary.skipped = skipped.names
    apply_consumption(uow, sorted(touched), now, audit_from={
        d.id for d in devices.values() if d is not None and not d.created})
    record(uow, actor, "slup.import", f"va:{account.name}/{va.name}", account_id=account.id,
           details={"files": summary.files[:100], "new": summary.new, "known": summary.known,
                    "devices": len(summary.devices), "tags": summary.tags,
                    "skipped": summary.skipped, "refused": summary.refused,
                    "dry_run": dry_run})
    return summary


def _pairs(pairs: Sequence[tuple[Any, Any]], first: Any, second: Any) -> Iterator[Any]:
    """Conditions matching chunks of (first, second) pairs with two IN lists, which an index
    on (first, second) answers on every engine (SQLite scans for a row-value IN list); the
    rows they find may hold pairs not asked for, which the caller drops."""
    for chunk in in_chunks(sorted(set(pairs))):
        yield and_(first.in_(sorted({a for a, _ in chunk})),
                   second.in_(sorted({b for _, b in chunk})))


def _load(session: Session, udis: Sequence[tuple[str, str]]) -> dict[tuple[str, str], Device]:
    found = {}
    for condition in _pairs(udis, Device.pid, Device.serial):
        for device in session.scalars(select(Device).where(condition)):
            found[(device.pid, device.serial)] = device
    return {udi: found[udi] for udi in udis if udi in found}


def _bulk(session: Session, model: Any, rows: list[dict[str, Any]]) -> None:
    """Insert plain rows with one Core statement (no ORM objects: memory stays flat)."""
    session.connection().execute(model.__table__.insert(), rows)


def _create(session: Session, account: Account, va: VirtualAccount,
            udis: Sequence[tuple[str, str]], now: datetime) -> dict[tuple[str, str], int]:
    """Create product instances for UDIs seen for the first time, in the VA, reporting by
    SLUP. Returns their ids."""
    if not udis:
        return {}
    _bulk(session, Device, [{
        "pid": pid, "serial": serial, "va_id": va.id, "account_id": account.id,
        "public_key": b"", "certificate_pem": "", "certificate_serial": "",
        "certificate_expires_at": NO_CERTIFICATE, "status": REGISTERED,
        "first_registered_at": now, "registered_at": now, "last_contact_at": now,
        "reporting": SLUP, "registrations": 1, "vid": "", "uuid": "", "hostname": "",
        "product_tag": "", "export_controlled": False} for pid, serial in udis])
    outbound.append_many(session, outbound.DEVICE_REGISTERED, [
        {"udi": f"{pid}:{serial}", "account": account.domain, "va": va.name}
        for pid, serial in udis], now)
    ids = {}
    for condition in _pairs(udis, Device.pid, Device.serial):
        ids.update({(pid, serial): device_id for device_id, pid, serial in session.execute(
            select(Device.id, Device.pid, Device.serial).where(condition))})
    return {udi: ids[udi] for udi in udis}


def _known(uow: UnitOfWork, actor: Actor, account: Account, udi: tuple[str, str],
           device: Device, summary: ImportSummary) -> _Known | None:
    """A device seen before: its reports count where it is; None when it is refused."""
    label = udi_label(*udi)
    why = None
    if device.account_id != account.id:
        why = "the device is registered in another account; its reports were not imported"
    elif device.reporting == AGENT and device.status != DEREGISTERED:
        why = "the device is registered through the satellite's device protocol"
    if why is not None:
        summary.refused[label] = why
        # Both accounts hear of an import naming another account's device, as of a
        # registration that tries to take it over.
        for account_id in {account.id, device.account_id}:
            record(uow, actor, "slup.refuse_device", f"device:{label}", account_id=account_id,
                   details={"reason": why, "importing_account_id": account.id})
        if device.account_id != account.id:
            raise_alert(uow.session, f"{DEVICE_TAKEOVER}:{device.id}", DEVICE_TAKEOVER,
                        f"SLUP usage reports of {label} imported into another account were "
                        "refused; the registered device was left as it was", uow.clock.now(),
                        account_id=device.account_id)
        return None
    if device.reporting != SLUP:
        device.reporting = SLUP
    return _Known(device.id, device.va_id, False)


def _store(uow: UnitOfWork, actor: Actor, account: Account, va: VirtualAccount,
           batch: list[RumReport], devices: dict[tuple[str, str], _Known | None],
           touched: set[int], summary: ImportSummary, now: datetime) -> None:
    session = uow.session
    unseen = sorted({(r.pid, r.serial) for r in batch} - devices.keys())
    rows = _load(session, unseen)
    names = {va_id: name for va_id, name in session.execute(
        select(VirtualAccount.id, VirtualAccount.name)
        .where(VirtualAccount.account_id == account.id))}
    created = _create(session, account, va, [udi for udi in unseen if udi not in rows], now)
    for udi in unseen:
        known = devices[udi] = (_Known(created[udi], va.id, True) if udi in created
                                else _known(uow, actor, account, udi, rows[udi], summary))
        if known is not None:
            summary.devices[udi_label(*udi)] = {"new": 0, "known": 0, "created": known.created,
                                               "va": names.get(known.va_id, "")}
    # Devices are looked up once per import; their objects need not stay in the session.
    session.flush()
    for device in rows.values():
        session.expunge(device)
    accepted = [(r, known) for r in batch if (known := devices[(r.pid, r.serial)]) is not None]
    keys = sorted({(k.id, r.report_id) for r, k in accepted})
    stored: set[tuple[int, str]] = set()
    for condition in _pairs(keys, RumReportRow.device_id, RumReportRow.report_id):
        stored.update((d, r) for d, r in session.execute(
            select(RumReportRow.device_id, RumReportRow.report_id).where(condition)))
    new_rows, events = [], []
    for report, known in accepted:
        label = udi_label(report.pid, report.serial)
        summary.tags[report.tag] = summary.tags.get(report.tag, 0) + 1
        if (known.id, report.report_id) in stored:
            summary.known += 1
            summary.devices[label]["known"] += 1
            continue
        stored.add((known.id, report.report_id))
        summary.new += 1
        summary.devices[label]["new"] += 1
        if report.flags:
            summary.flagged.append({"udi": label, "report_id": report.report_id,
                                    "flags": list(report.flags)})
        starts = [m.start for m in report.measurements if m.start is not None]
        ends = [m.end for m in report.measurements if m.end]
        latest = report.latest
        new_rows.append({
            "device_id": known.id, "va_id": known.va_id, "report_id": report.report_id,
            "tag": report.tag, "software_version": report.software_version,
            "window_start": min(starts) if starts else None,
            "window_end": max(ends) if ends else None,
            "count": latest.count if latest else None, "flags": ",".join(report.flags),
            "text": report.text, "imported_at": now, "exported_at": None, "acked_at": None})
        events.append({"udi": f"{report.pid}:{report.serial}", "account": account.domain,
                       "va": names.get(known.va_id, va.name), "report_id": report.report_id,
                       "tag": report.tag, "report": report.text})
        touched.add(known.id)
    if new_rows:
        _bulk(session, RumReportRow, new_rows)
        outbound.append_many(session, outbound.RUM_REPORT, events, now)
    _count(session, [(k.id, r) for r, k in accepted if r.latest is not None])


def _count(session: Session, reports: Sequence[tuple[int, RumReport]]) -> None:
    """Keep each (device, tag)'s latest closed measurement; an older one never wins."""
    best: dict[tuple[int, str], tuple[int, int, str]] = {}
    for device_id, report in reports:
        latest = report.latest
        assert latest is not None and latest.count is not None
        candidate = (latest.end or 0, latest.count, report.report_id)
        key = (device_id, report.tag)
        if key not in best or candidate[0] > best[key][0]:
            best[key] = candidate
    current: dict[tuple[int, str], int] = {}
    for condition in _pairs(list(best), SlupUsage.device_id, SlupUsage.tag):
        current.update(((d, t), e) for d, t, e in session.execute(
            select(SlupUsage.device_id, SlupUsage.tag, SlupUsage.end_time).where(condition))
            if (d, t) in best)
    inserts, updates = [], []
    for (device_id, tag), (end, count, report_id) in sorted(best.items()):
        row = {"device_id": device_id, "tag": tag, "end_time": end, "count": count,
               "report_id": report_id}
        if (device_id, tag) not in current:
            inserts.append(row)
        elif end > current[(device_id, tag)]:
            updates.append(row)
    if inserts:
        _bulk(session, SlupUsage, inserts)
    for row in updates:
        session.execute(update(SlupUsage).where(
            SlupUsage.device_id == row["device_id"], SlupUsage.tag == row["tag"])
            .values(end_time=row["end_time"], count=row["count"], report_id=row["report_id"]))


def apply_consumption(uow: UnitOfWork, device_ids: Sequence[int], now: datetime, *,
                      audit_from: set[int] | None = None, contact: bool = True) -> None:
    """Make SLUP devices' counts their consumption, under the rules an agent's usage follows
    (tags the VA has no license for consume nothing), and set each device's compliance.

    A tag the VA holds no license for is the device's evaluation while its evaluation period
    runs (devices.evaluation), unlicensed use after. `contact`: the devices just reported
    (else their last contact is left as it was)."""
    session = uow.session
    for chunk in in_chunks(list(device_ids)):
        rows = session.execute(
            select(Device.id, Device.va_id, Device.status, Device.account_id, Device.pid,
                   Device.serial, Device.evaluation_started_at, Device.in_evaluation,
                   Account.domain, VirtualAccount.name)
            .join(VirtualAccount, VirtualAccount.id == Device.va_id)
            .join(Account, Account.id == VirtualAccount.account_id)
            .where(Device.id.in_(chunk))).all()
        counts: dict[int, dict[str, int]] = {row.id: {} for row in rows}
        for device_id, tag, count in session.execute(
                select(SlupUsage.device_id, SlupUsage.tag, SlupUsage.count)
                .where(SlupUsage.device_id.in_(chunk))):
            counts[device_id][tag] = count
        wanted: dict[int, set[str]] = {}
        for row in rows:
            wanted.setdefault(row.va_id, set()).update(counts[row.id])
        pools = {va_id: tag_pools(session, va_id, now.date(), sorted(tags))
                 for va_id, tags in wanted.items()}
        reviews = {row.id: evaluation.review(
            row.evaluation_started_at,
            any(n and refusal(tag, pools[row.va_id], False) == UNLICENSED
                for tag, n in counts[row.id].items()), now) for row in rows}
        previous = owners_usage(session, [owner_of(row.id) for row in rows], "in_use")
        changes: dict[str, dict[tuple[int, str], int]] = {}
        facts: list[dict[str, Any]] = []
        expired: set[int] = set()  # devices whose evaluation use now counts as unlicensed
        for row in rows:
            # As for an agent's report: unlicensed use is kept (and is out of compliance);
            # an export-controlled tag consumes nothing; evaluation use consumes nothing.
            allowed = (None,) if reviews[row.id].excused else (None, UNLICENSED)
            consumption = {(row.va_id, tag): n for tag, n in counts[row.id].items()
                           if n and refusal(tag, pools[row.va_id], False) in allowed}
            before = previous[owner_of(row.id)]
            if row.in_evaluation and reviews[row.id].in_evaluation \
                    and not reviews[row.id].excused and consumption.keys() - before.keys():
                expired.add(row.id)
            if before != consumption:
                changes[owner_of(row.id)] = consumption
                changed = {tag for (_va, tag) in before.keys() | consumption.keys()}
                facts += usage_facts(f"{row.pid}:{row.serial}", row.domain, row.name,
                                     {t: consumption.get((row.va_id, t), 0) for t in changed})
        set_usages(session, "in_use", changes)
        outbound.append_many(session, outbound.USAGE, facts, now)
        pools = {va_id: tag_pools(session, va_id, now.date(), sorted(tags))
                 for va_id, tags in wanted.items()}
        by_status: dict[str, list[int]] = {}
        for row in rows:
            va_pools = pools[row.va_id]
            excused = reviews[row.id].excused
            compliant = all(((why := refusal(tag, va_pools, False)) is None
                             and va_pools[tag].counter.available >= 0)
                            or (excused and why == UNLICENSED)
                            for tag, n in counts[row.id].items() if n)
            status = AUTHORIZED if compliant else OUT_OF_COMPLIANCE
            by_status.setdefault(status, []).append(row.id)
            if status != row.status and audit_from is not None and row.id in audit_from:
                record(uow, device_actor(row.id), "device.status", f"device:{row.id}",
                       account_id=row.account_id, details={"before": row.status,
                                                           "after": status})
        values: dict[str, Any] = {"last_contact_at": now, "deregistered_at": None} \
            if contact else {}
        for status, ids in by_status.items():
            session.execute(update(Device).where(Device.id.in_(ids)).values(
                status=status, **values).execution_options(synchronize_session=False))
        _note_evaluations(uow, rows, reviews, expired, now, audit_from)


def _note_evaluations(uow: UnitOfWork, rows: Sequence[Any],
                      reviews: dict[int, evaluation.Review], expired: set[int], now: datetime,
                      audit_from: set[int] | None) -> None:
    """Store what changed of the devices' evaluations; audit it for devices known before."""
    groups: dict[tuple[datetime | None, bool], list[int]] = {}
    for row in rows:
        review = reviews[row.id]
        before = (row.evaluation_started_at, row.in_evaluation)
        if (review.started_at, review.in_evaluation) != before:
            groups.setdefault((review.started_at, review.in_evaluation), []).append(row.id)
        elif row.id not in expired:
            continue
        if audit_from is not None and row.id in audit_from:
            shown = evaluation.view(review.started_at, review.in_evaluation, now)
            record(uow, device_actor(row.id), "device.evaluation", f"device:{row.id}",
                   account_id=row.account_id,
                   details={"after": shown["text"] if shown else None,
                            "started_at": shown["startedAt"] if shown else None})
    for (started_at, in_evaluation), ids in groups.items():
        uow.session.execute(update(Device).where(Device.id.in_(ids)).values(
            evaluation_started_at=started_at, in_evaluation=in_evaluation)
            .execution_options(synchronize_session=False))


def review_evaluations(uow: UnitOfWork) -> int:
    """Look again at the SLUP devices in evaluation: one whose period ended goes Out Of
    Compliance, one whose VA now holds its licenses leaves evaluation. Returns how many
    were looked at."""
    ids = list(uow.session.scalars(select(Device.id).where(
        Device.in_evaluation == true(), Device.reporting == SLUP).order_by(Device.id)))
    apply_consumption(uow, ids, uow.clock.now(), audit_from=set(ids), contact=False)
    return len(ids)


def find_va(session: Session, actor: Actor, account_ref: str | None, va_name: str,
            operation: str) -> tuple[Account, VirtualAccount]:
    """The VA named `va_name` (in `account_ref`, or the one VA of that name the actor may
    use when no account is named). Raises NotFound / Conflict / PermissionDenied."""
    if account_ref:
        return va_for(session, actor, account_ref, va_name, operation)
    domains = list(session.scalars(select(Account.domain).join(
        VirtualAccount, VirtualAccount.account_id == Account.id)
        .where(VirtualAccount.name == va_name).order_by(Account.domain)))
    usable = []
    for domain in domains:
        try:
            usable.append(va_for(session, actor, domain, va_name, operation))
        except (NotFound, PermissionDenied):
            continue
    if not usable:
        raise NotFound(f"no virtual account named {va_name!r}")
    if len(usable) > 1:
        raise Conflict(f"several accounts have a virtual account named {va_name!r} "
                       f"({', '.join(a.domain for a, _ in usable)}): name one with --account")
    return usable[0]

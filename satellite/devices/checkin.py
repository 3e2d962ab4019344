"""The usage report: record what a device consumes and answer, per tag, whether it may."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import String, Table, bindparam, cast, literal, update

from satellite import precompiled
from satellite.accounts import export_control
from satellite.audit.service import record
from satellite.config import Settings
from satellite.db import UTCDateTime, bind_list, list_params
from satellite.devices.classic import record_holdings
from satellite.devices.messages import (
    AUTHORIZED,
    CLASSIC_LICENSES,
    NOT_AUTHORIZED,
    OUT_OF_COMPLIANCE,
    ClassicHolding,
    MessageError,
    SignedMessage,
    format_time,
    parse_classic,
)
from satellite.devices.models import AUTHORIZED as DEVICE_AUTHORIZED
from satellite.devices.models import OUT_OF_COMPLIANCE as DEVICE_OUT_OF_COMPLIANCE
from satellite.devices.models import Device
from satellite.devices.registration import device_actor, owner_of
from satellite.devices.upstream import log_usage
from satellite.devices.verification import (
    ClockSkew,
    DeviceSession,
    KnownKeys,
    Verified,
    check_device,
    devices_query,
    remember_nonces,
    replayed,
    unwrap,
)
from satellite.errors import InvalidInput, SatelliteError
from satellite.groupcommit import BatchWriter
from satellite.licenses.counters import TagPool, tag_pools
from satellite.licenses.models import IN_COMPLIANCE, LicenseUsage
from satellite.licenses.usage import UsageKey, lock_owners, set_usage
from satellite.limits import check_text
from satellite.uow import Database, UnitOfWork

MAX_TAGS = 500
# A count beyond this is a device's error, not a consumption (and would not fit the counters).
MAX_COUNT = 1_000_000


def parse_usage(body: Mapping[str, Any]) -> dict[str, int]:
    usage = body.get("usage")
    if not isinstance(usage, dict):
        raise InvalidInput("usage must be an object mapping entitlement tags to counts",
                           field="usage")
    if len(usage) > MAX_TAGS:
        raise InvalidInput(f"a usage report names at most {MAX_TAGS} tags", field="usage")
    for tag, count in usage.items():
        try:
            check_text(tag, "an entitlement tag", 255)
        except InvalidInput as exc:
            raise InvalidInput(f"usage: {exc.message}", field="usage") from None
        if isinstance(count, bool) or not isinstance(count, int) or not 0 <= count <= MAX_COUNT:
            raise InvalidInput(f"the count of {tag!r} must be a whole number from 0 to {MAX_COUNT:,}",
                               field="usage")
    return usage


# The hot path's own statements are built once per process (see verification.py).


@cache
def _batch_query(count: int) -> Any:
    # The devices as check_device reads them, each with what it consumes now (one row per
    # tag, or one row of NULLs): a batch reads everything it decides on in one statement.
    owner = literal("device:") + cast(Device.id, String)  # owner_of(), in SQL
    return (devices_query(count)
            .add_columns(LicenseUsage.va_id.label("usage_va_id"),
                         LicenseUsage.tag.label("usage_tag"),
                         LicenseUsage.quantity.label("usage_quantity"))
            .outerjoin(LicenseUsage, (LicenseUsage.owner == owner)
                       & (LicenseUsage.kind == "in_use")))


def _read_batch(uow: UnitOfWork,
                ids: Sequence[int]) -> tuple[dict[int, Any], dict[str, dict[UsageKey, int]]]:
    """The devices of a batch (by id; unknown ids absent) and what each consumes (by owner).

    The owners are locked first (see lock_owners), so what is read stays true until commit.
    """
    session = uow.session
    lock_owners(session, [owner_of(device_id) for device_id in ids])
    ordered = sorted(ids)
    rows = precompiled.run(session.connection(), _batch_query(len(ordered)),
                           list_params("device_id", ordered))
    devices: dict[int, Any] = {}
    usage: dict[str, dict[UsageKey, int]] = {}
    for row in rows:
        devices.setdefault(row.id, row)
        consumed = usage.setdefault(owner_of(row.id), {})
        if row.usage_tag is not None:
            consumed[(row.usage_va_id, row.usage_tag)] = row.usage_quantity
    return devices, usage


@cache
def _touch_statement(count: int) -> Any:
    table = Device.__table__
    assert isinstance(table, Table)
    return (update(table).where(table.c.id.in_(bind_list("device_id", count)))
            .values(last_contact_at=bindparam("now", type_=UTCDateTime()),
                    authorization_expires_at=bindparam("expires", type_=UTCDateTime())))


@cache
def _status_statement(count: int) -> Any:
    table = Device.__table__
    assert isinstance(table, Table)
    return (update(table).where(table.c.id.in_(bind_list("device_id", count)))
            .values(status=bindparam("status")))


UNLICENSED = "the virtual account has no license for this tag"


def refusal(tag: str, pools: Mapping[str, TagPool], export_controlled: bool,
            category: str = export_control.DEFAULT) -> str | None:
    """Why a device may not use `tag` in its VA (None: it may), for every way devices report.

    `category` is the export-control category of the device's account."""
    if tag not in pools:
        return UNLICENSED
    if pools[tag].export_controlled and not export_controlled:
        return "export-controlled: the device's registration token does not allow it"
    if pools[tag].export_controlled and not export_control.allows_export(category):
        return export_control.refusal(category)
    return None


@dataclass(frozen=True)
class _Report:
    device: DeviceSession
    message: SignedMessage
    usage: dict[str, int]
    classic: tuple[ClassicHolding, ...] = ()


def _report(device: DeviceSession, message: SignedMessage) -> _Report:
    usage = parse_usage(message.body)
    if CLASSIC_LICENSES not in message.body:
        return _Report(device, message, usage)
    try:
        return _Report(device, message, usage, parse_classic(message.body))
    except MessageError as exc:
        raise InvalidInput(str(exc), field=exc.field) from None


def check_in(uow: UnitOfWork, settings: Settings, reports: Sequence[SignedMessage | Verified],
             keys: KnownKeys | None = None) -> list[dict[str, Any] | SatelliteError]:
    """Authenticate usage reports of distinct devices and record them in the caller's transaction.

    Returns, for each report in order, the answer to sign or the error that refuses it
    (Unauthenticated, ReplayedMessage, InvalidInput): a refused message changes nothing, and
    does not stop the others. The caller commits. Statements are per batch, not per message.
    A Verified report's signature is checked again only if its device's key changed; the
    keys of authenticated devices are added to `keys`.
    """
    session, now = uow.session, uow.clock.now()
    max_age = settings.message_max_age_seconds
    unwrapped = [unwrap(report) for report in reports]
    messages = [message for message, _key in unwrapped]
    ids = [message.device_id or 0 for message in messages]
    if len(set(ids)) != len(ids):
        raise ValueError("a batch of usage reports comes from distinct devices")
    rows, previous = _read_batch(uow, ids)
    outcomes: list[dict[str, Any] | SatelliteError | None] = [None] * len(messages)
    checked: list[tuple[int, _Report]] = []
    for index, (message, verified_with) in enumerate(unwrapped):
        try:
            device = check_device(rows.get(ids[index]), message, now, max_age, verified_with)
            if keys is not None:
                keys.learn(device.id, rows[device.id].public_key)
            checked.append((index, _report(device, message)))
        except SatelliteError as exc:
            outcomes[index] = exc
    # Writes go in device order, so that concurrent batches lock rows in the same order.
    checked.sort(key=lambda pair: pair[1].device.id)
    new = remember_nonces(session, [(r.device.id, r.message) for _, r in checked], max_age)
    accepted = []
    for index, report in checked:
        if (report.device.id, report.message.nonce) in new:
            accepted.append((index, report))
        else:
            outcomes[index] = replayed()
    answers = _record(uow, settings, [report for _, report in accepted], previous, now)
    for (index, _), answer in zip(accepted, answers, strict=True):
        outcomes[index] = answer
    return [outcome for outcome in outcomes if outcome is not None]


def _record(uow: UnitOfWork, settings: Settings, reports: Sequence[_Report],
            previous: Mapping[str, Mapping[UsageKey, int]], now: datetime) -> list[dict[str, Any]]:
    """Make each report its device's consumption; answer with each tag's authorization.

    Tags a device may not use are NOT_AUTHORIZED: a tag its VA holds no line for is still
    recorded (unlicensed use: a pool of quantity 0, Out Of Compliance, so the shortfall shows);
    an export-controlled tag its token does not allow consumes nothing.
    """
    session = uow.session
    wanted: dict[int, set[str]] = {}
    for report in reports:
        wanted.setdefault(report.device.va_id, set()).update(report.usage)
    pools = {va_id: tag_pools(session, va_id, now.date(), sorted(tags))
             for va_id, tags in wanted.items()}
    # Most reports repeat the last one (read with the devices, their owners locked first):
    # comparing is cheaper than rewriting it.
    refused: list[dict[str, str]] = []
    changed_vas = set()
    for report in reports:
        device, usage = report.device, report.usage
        refusals = {tag: why for tag in usage if (why := refusal(
            tag, pools[device.va_id], device.export_controlled, device.export_category))}
        refused.append(refusals)
        consumption = {(device.va_id, tag): count for tag, count in usage.items()
                       if count and refusals.get(tag, UNLICENSED) == UNLICENSED}
        owner = owner_of(device.id)
        if previous[owner] != consumption:
            set_usage(session, owner, "in_use", consumption)
            changed = {tag for (_va, tag) in previous[owner].keys() | consumption.keys()}
            log_usage(session, device.id,
                      {tag: consumption.get((device.va_id, tag), 0) for tag in changed}, now)
            changed_vas.add(device.va_id)
    # Each answer tells the counters as committed: read again where the batch changed usage.
    for va_id in changed_vas:
        pools[va_id] = tag_pools(session, va_id, now.date(), sorted(wanted[va_id]))
    expires = now + timedelta(days=settings.authorization_valid_days)
    next_call = format_time(now + timedelta(days=settings.authorization_renew_days))
    timestamp, expires_text = format_time(now), format_time(expires)
    documents, statuses = [], []
    for report, refusals in zip(reports, refused, strict=True):
        answers: list[dict[str, Any]] = []
        for tag in sorted(report.usage):
            entry: dict[str, Any] = {"tag": tag, "count": report.usage[tag]}
            if tag in refusals:
                entry.update(status=NOT_AUTHORIZED, reason=refusals[tag])
            else:
                c = pools[report.device.va_id][tag].counter
                entry["status"] = AUTHORIZED if c.status == IN_COMPLIANCE else OUT_OF_COMPLIANCE
                entry.update(quantity=c.quantity, inUse=c.in_use, available=c.available)
            answers.append(entry)
        extra: dict[str, Any] = {}
        if report.classic:
            extra[CLASSIC_LICENSES] = _classic(uow, report, answers)
        compliant = all(a["status"] == AUTHORIZED
                        for a in (*answers, *extra.get(CLASSIC_LICENSES, ())))
        statuses.append(DEVICE_AUTHORIZED if compliant else DEVICE_OUT_OF_COMPLIANCE)
        documents.append({
            "type": "authorization", "deviceId": report.device.id,
            "requestNonce": report.message.nonce, "timestamp": timestamp,
            "status": AUTHORIZED if compliant else OUT_OF_COMPLIANCE,
            "tags": answers, "authorizationExpiresAt": expires_text, "nextCallAt": next_call,
            "certificateExpiresAt": format_time(report.device.certificate_expires_at),
            **extra,
        })
    _touch(uow, [r.device for r in reports], statuses, now, expires)
    return documents


def _classic(uow: UnitOfWork, report: _Report,
             answers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The classic licenses the device still holds; a tag one converts to is Out Of
    Compliance while it is not converted."""
    device = report.device
    entries = record_holdings(uow, device.id, device.account_id, device.va_id, report.classic)
    unconverted = {e["tag"]: e["reason"] for e in entries
                   if e["status"] != AUTHORIZED and "tag" in e}
    for answer in answers:
        if answer["tag"] in unconverted and answer["status"] == AUTHORIZED:
            answer.update(status=OUT_OF_COMPLIANCE, reason=unconverted[answer["tag"]])
    return entries


def _touch(uow: UnitOfWork, devices: Sequence[DeviceSession], statuses: Sequence[str],
           now: datetime, expires: datetime) -> None:
    # Core UPDATEs (the hot path loads no ORM object for a device): every device's contact in
    # one, and a status only where it changes, one per new status (a steady report leaves the
    # status column and its indexes alone).
    if not devices:
        return
    connection = uow.session.connection()
    ids = [device.id for device in devices]
    precompiled.run(connection, _touch_statement(len(ids)),
                    {**list_params("device_id", ids), "now": now, "expires": expires})
    moved: dict[str, list[DeviceSession]] = {}
    for device, status in zip(devices, statuses, strict=True):
        if status != device.status:
            moved.setdefault(status, []).append(device)
    for status, changed in sorted(moved.items()):
        connection.execute(_status_statement(len(changed)),
                           {**list_params("device_id", [d.id for d in changed]), "status": status})
        for device in changed:
            # Only transitions are audited: a steady stream of identical reports is not news.
            record(uow, device_actor(device.id), "device.status",
                   f"device:{device.id}", account_id=device.account_id,
                   details={"before": device.status, "after": status})


def _device_of(report: SignedMessage | Verified) -> int | None:
    return unwrap(report)[0].device_id


class CheckinWriter(BatchWriter[SignedMessage | Verified, dict[str, Any]]):
    """The usage reports of this process, recorded by group commit (satellite.groupcommit).

    Reports that arrive together share one transaction and one set of statements; each
    caller gets its answer once that transaction is committed. A report from a device this
    process has seen is verified by its caller before it joins a batch (KnownKeys).
    """

    def __init__(self, db: Database, settings: Settings, max_batch: int = 64) -> None:
        self.keys = KnownKeys()
        super().__init__(db, lambda uow, reports: check_in(uow, settings, reports, self.keys),
                         key=_device_of, max_batch=max_batch)

    def report(self, message: SignedMessage) -> dict[str, Any]:
        """Record one usage report; return the answer to sign. Raises its refusal."""
        return self.submit(self.keys.verify(message))

    def _run(self, reports: Sequence[SignedMessage | Verified]
             ) -> Sequence[dict[str, Any] | Exception]:
        outcomes = super()._run(reports)
        for outcome in outcomes:
            if isinstance(outcome, ClockSkew):
                self._db.clock_watch.note_skew(outcome.device_id, outcome.skew_seconds)
        return outcomes

"""Classic (PAK) licenses in sync bundles, and applying what Central says of them.

A response may carry `classic_license` records (Central's complete list of classic licenses,
announced by the header field `classic_licenses`) and `classic_result` records (Central's
answer to each conversion request). A usage batch carries a `classic_conversion` record per
Pending request, announced by `classic_conversions`; it is sent again until answered, and
Central counts each request id once. Bundles without these records read as before.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from satellite.accounts.models import Account, VirtualAccount
from satellite.actor import Actor
from satellite.clock import as_utc
from satellite.cloudsync.records import (
    CLASSIC_CONVERSION,
    CLASSIC_LICENSE,
    CLASSIC_RESULT,
    MAX_QUANTITY,
)
from satellite.devices.classic import settle_converted
from satellite.devices.models import Device
from satellite.devices.registration import udi_label
from satellite.errors import InvalidInput
from satellite.licenses.classic_models import (
    COMPLETED,
    DEVICE,
    OPERATOR,
    PENDING,
    REJECTED,
    ClassicConversion,
    ClassicLicense,
)
from satellite.limits import check_text
from satellite.uow import UnitOfWork

TYPES = (CLASSIC_LICENSE, CLASSIC_RESULT)
# Header fields: how many records of each kind the bundle carries.
LICENSES_FIELD, RESULTS_FIELD, REQUESTS_FIELD = (
    "classic_licenses", "classic_results", "classic_conversions")
COMPLETED_RESULT, REJECTED_RESULT = "completed", "rejected"


def _text(rec: dict[str, Any], name: str, limit: int, where: str,
          required: bool = True) -> str:
    value = rec.get(name)
    if not required and value is None:
        return ""
    try:
        return check_text(value, name, limit, required=required)
    except InvalidInput as exc:
        raise InvalidInput(f"{where}: {exc.message}", field=name) from None


def _count(rec: dict[str, Any], name: str, where: str, low: int = 0) -> int:
    value = rec.get(name)
    if type(value) is not int or not low <= value <= MAX_QUANTITY:
        raise InvalidInput(f"{where}: {name} must be a whole number from {low} to "
                           f"{MAX_QUANTITY:,}", field=name)
    return value


def _keys(rec: dict[str, Any], keys: set[str], where: str) -> None:
    if set(rec) != keys:
        raise InvalidInput(f"{where}: a {rec.get('type')} record has the fields "
                           f"{', '.join(sorted(keys))}")


@dataclass(frozen=True)
class ClassicRecord:
    """A classic license as Central lists it."""

    account: str
    pak: str
    sku: str
    tag: str
    quantity: int
    converted: int = 0
    va: str | None = None
    device: str = ""

    _KEYS = frozenset({"type", "account", "pak", "sku", "tag", "quantity", "converted", "va",
                       "device"})

    def to_record(self) -> dict[str, Any]:
        return {"type": CLASSIC_LICENSE, "account": self.account, "pak": self.pak,
                "sku": self.sku, "tag": self.tag, "quantity": self.quantity,
                "converted": self.converted, "va": self.va, "device": self.device}

    @classmethod
    def from_record(cls, rec: dict[str, Any], number: int) -> ClassicRecord:
        where = f"record {number}"
        _keys(rec, set(cls._KEYS), where)
        quantity = _count(rec, "quantity", where, 1)
        converted = _count(rec, "converted", where)
        if converted > quantity:
            raise InvalidInput(f"{where}: converted is more than the quantity")
        va = rec["va"]
        return cls(account=_text(rec, "account", 253, where), pak=_text(rec, "pak", 64, where),
                   sku=_text(rec, "sku", 100, where), tag=_text(rec, "tag", 255, where),
                   quantity=quantity, converted=converted,
                   va=_text(rec, "va", 200, where) if va is not None else None,
                   device=_text(rec, "device", 201, where, required=False))


@dataclass(frozen=True)
class ConversionResult:
    """Central's answer to one conversion request."""

    request_id: str
    status: str
    line_id: str = ""
    reason: str = ""

    def to_record(self) -> dict[str, Any]:
        return {"type": CLASSIC_RESULT, "request_id": self.request_id, "status": self.status,
                "line_id": self.line_id, "reason": self.reason}

    @classmethod
    def from_record(cls, rec: dict[str, Any], number: int) -> ConversionResult:
        where = f"record {number}"
        _keys(rec, {"type", "request_id", "status", "line_id", "reason"}, where)
        if rec["status"] not in (COMPLETED_RESULT, REJECTED_RESULT):
            raise InvalidInput(f"{where}: status is {COMPLETED_RESULT} or {REJECTED_RESULT}")
        return cls(_text(rec, "request_id", 32, where), rec["status"],
                   _text(rec, "line_id", 64, where, required=False),
                   _text(rec, "reason", 500, where, required=False))


@dataclass(frozen=True)
class ConversionRequest:
    """A conversion request as a usage batch carries it to Central."""

    request_id: str
    account: str
    va: str
    pak: str
    sku: str
    quantity: int
    origin: str
    device: str
    requested_at: str

    def to_record(self) -> dict[str, Any]:
        return {"type": CLASSIC_CONVERSION, "request_id": self.request_id,
                "account": self.account, "va": self.va, "pak": self.pak, "sku": self.sku,
                "quantity": self.quantity, "origin": self.origin, "device": self.device,
                "requested_at": self.requested_at}

    @classmethod
    def from_record(cls, rec: dict[str, Any], number: int) -> ConversionRequest:
        where = f"record {number}"
        _keys(rec, {"type", "request_id", "account", "va", "pak", "sku", "quantity", "origin",
                    "device", "requested_at"}, where)
        if rec["origin"] not in (OPERATOR, DEVICE):
            raise InvalidInput(f"{where}: origin is {OPERATOR} or {DEVICE}")
        return cls(_text(rec, "request_id", 32, where), _text(rec, "account", 253, where),
                   _text(rec, "va", 200, where), _text(rec, "pak", 64, where),
                   _text(rec, "sku", 100, where), _count(rec, "quantity", where, 1),
                   rec["origin"], _text(rec, "device", 201, where, required=False),
                   _text(rec, "requested_at", 40, where))


def device_key(udi: str) -> str:
    """`PID:<pid>,SN:<serial>` and `<pid>:<serial>` of one device as the same text."""
    parts = {k.strip().upper(): v.strip()
             for k, v in (p.split(":", 1) for p in udi.split(",") if ":" in p)}
    if "PID" in parts and "SN" in parts:
        return f"{parts['PID']}:{parts['SN']}"
    return udi.strip()


def pending_requests(session: Session) -> list[dict[str, Any]]:
    """Every Pending conversion request, as the next usage batch carries it."""
    rows = session.execute(
        select(ClassicConversion, Account.domain, VirtualAccount.name, Device.pid,
               Device.serial)
        .join(Account, Account.id == ClassicConversion.account_id)
        .join(VirtualAccount, VirtualAccount.id == ClassicConversion.va_id)
        .outerjoin(Device, Device.id == ClassicConversion.device_id)
        .where(ClassicConversion.status == PENDING).order_by(ClassicConversion.id))
    return [ConversionRequest(
        c.request_id, domain, va, c.pak, c.sku, c.quantity, c.origin,
        udi_label(pid, serial) if pid else "", as_utc(c.requested_at).isoformat()).to_record()
        for c, domain, va, pid, serial in rows]


@dataclass
class ClassicReport:
    added: int = 0
    updated: int = 0
    removed: int = 0
    completed: int = 0
    rejected: int = 0
    skipped: int = 0
    notes: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {"added": self.added, "updated": self.updated, "removed": self.removed,
                "completed": self.completed, "rejected": self.rejected,
                "skipped": self.skipped}


def apply_classic(uow: UnitOfWork, actor: Actor, records: Iterable[dict[str, Any]],
                  complete_list: bool, now: datetime) -> ClassicReport:
    """Apply a response's classic records in the caller's transaction.

    Licenses are matched by account, PAK and SKU; a license keeps the VA the site moved it
    to. With `complete_list`, local licenses of this satellite's accounts that Central no
    longer lists are removed. Raises InvalidInput for a malformed record.
    """
    session = uow.session
    report = ClassicReport()
    accounts: dict[str, Account | None] = {}
    listed: set[int] = set()
    converted_devices: set[int] = set()
    for number, rec in enumerate(records, start=1):
        if rec["type"] == CLASSIC_RESULT:
            _answer(session, ConversionResult.from_record(rec, number), report, now,
                    converted_devices)
            continue
        item = ClassicRecord.from_record(rec, number)
        domain = item.account.strip().lower()
        if domain not in accounts:
            accounts[domain] = session.scalar(select(Account).where(Account.domain == domain))
        account = accounts[domain]
        if account is None:
            report.skipped += 1
            continue
        listed.add(_upsert(session, account, item, report, now))
    if complete_list:
        gone = select(ClassicLicense.id).where(ClassicLicense.id.not_in(listed)) if listed \
            else select(ClassicLicense.id)
        report.removed = len(session.scalars(gone).all())
        if report.removed:
            session.execute(delete(ClassicLicense).where(ClassicLicense.id.in_(gone)))
    if converted_devices:
        session.flush()
        settle_converted(session, converted_devices, now)
    return report


def _upsert(session: Session, account: Account, item: ClassicRecord, report: ClassicReport,
            now: datetime) -> int:
    found = session.scalar(select(ClassicLicense).where(
        ClassicLicense.account_id == account.id, ClassicLicense.pak == item.pak,
        ClassicLicense.sku == item.sku))
    if found is None:
        va_id = None
        if item.va is not None:
            va_id = session.scalar(select(VirtualAccount.id).where(
                VirtualAccount.account_id == account.id, VirtualAccount.name == item.va))
        found = ClassicLicense(account_id=account.id, va_id=va_id, pak=item.pak, sku=item.sku,
                               tag=item.tag, quantity=item.quantity, converted=item.converted,
                               device_udi=item.device, imported_at=now)
        session.add(found)
        session.flush()
        report.added += 1
        return found.id
    new = (item.tag, item.quantity, item.converted, item.device)
    if (found.tag, found.quantity, found.converted, found.device_udi) != new:
        found.tag, found.quantity, found.converted, found.device_udi = new
        found.imported_at = now
        report.updated += 1
    return found.id


def _answer(session: Session, result: ConversionResult, report: ClassicReport, now: datetime,
            converted_devices: set[int]) -> None:
    conversion = session.scalar(select(ClassicConversion).where(
        ClassicConversion.request_id == result.request_id))
    if conversion is None or conversion.status != PENDING:
        return
    conversion.completed_at = now
    conversion.line_id, conversion.reason = result.line_id, result.reason
    if result.status == COMPLETED_RESULT:
        conversion.status = COMPLETED
        report.completed += 1
        if conversion.device_id is not None:
            converted_devices.add(conversion.device_id)
    else:
        conversion.status = REJECTED
        report.rejected += 1
    report.notes.append(f"conversion of {conversion.quantity} x PAK {conversion.pak} SKU "
                        f"{conversion.sku}: {conversion.status}"
                        + (f" ({result.reason})" if result.reason else ""))


def describe(rec: dict[str, Any]) -> str | None:
    """A classic record in plain words (None: not a classic record)."""
    kind = rec.get("type")
    if kind == CLASSIC_LICENSE:
        return (f"classic license PAK {rec.get('pak')} SKU {rec.get('sku')}: "
                f"{rec.get('quantity')} (converted {rec.get('converted')}), converts to "
                f"{rec.get('tag')}, for account {rec.get('account')}, "
                + (f"virtual account {rec['va']}" if rec.get("va") else "no virtual account")
                + (f", node-locked to device {rec['device']}" if rec.get("device") else ""))
    if kind == CLASSIC_RESULT:
        return (f"conversion request {rec.get('request_id')}: {rec.get('status')}"
                + (f", pooled licenses in entitlement line {rec['line_id']}"
                   if rec.get("line_id") else "")
                + (f" ({rec['reason']})" if rec.get("reason") else ""))
    if kind == CLASSIC_CONVERSION:
        return (f"request {rec.get('request_id')} ({rec.get('origin')}-led) to convert "
                f"{rec.get('quantity')} x classic license PAK {rec.get('pak')} SKU "
                f"{rec.get('sku')} to Smart Licensing, into account {rec.get('account')} "
                f"virtual account {rec.get('va')}"
                + (f", for device {rec['device']}" if rec.get("device") else ""))
    return None

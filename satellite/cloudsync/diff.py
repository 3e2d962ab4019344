"""What applying a response changes: pool lines per VA, and pools that change compliance.

Computed inside the import's transaction (before and after applying), so a dry run shows
exactly what the real import would do and then rolls back.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from satellite.accounts.models import Account, VirtualAccount
from satellite.licenses.counters import list_counters
from satellite.licenses.models import IN_COMPLIANCE, OUT_OF_COMPLIANCE, LicenseLine, LicenseUsage

PoolKey = tuple[int, str]  # (va_id, tag)
_DEVICES_SHOWN = 20
_PAGE = 5000
_LINE_VALUES = select(
    LicenseLine.va_id, LicenseLine.origin_id, LicenseLine.tag, LicenseLine.license_type,
    LicenseLine.quantity, LicenseLine.start_date, LicenseLine.end_date,
    LicenseLine.subscription_id, LicenseLine.export_controlled, LicenseLine.display_name,
).order_by(LicenseLine.id)


@dataclass(frozen=True)
class Pools:
    lines: dict[tuple[int, str], tuple[object, ...]]
    out_of_compliance: set[PoolKey]


@dataclass
class VaChange:
    account: str
    va: str
    added: int = 0
    removed: int = 0
    changed: int = 0


@dataclass(frozen=True)
class ComplianceChange:
    account: str
    va: str
    va_id: int
    account_id: int
    tag: str
    before: str
    after: str
    devices: list[str]
    device_count: int


@dataclass
class ImportDiff:
    vas: list[VaChange] = field(default_factory=list)
    compliance: list[ComplianceChange] = field(default_factory=list)

    def to_json(self) -> dict[str, object]:
        return {"virtual_accounts": [vars(v) for v in self.vas],
                "compliance": [{"account": c.account, "va": c.va, "tag": c.tag,
                                "before": c.before, "after": c.after, "devices": c.devices,
                                "device_count": c.device_count} for c in self.compliance]}


def capture(session: Session, on: date) -> Pools:
    session.flush()
    lines: dict[tuple[int, str], tuple[object, ...]] = {}
    # Plain rows, not ORM objects: an import reads every line twice.
    for va_id, origin_id, *value in session.execute(_LINE_VALUES):
        key = (va_id, origin_id)
        lines[key] = (*lines[key], *value) if key in lines else tuple(value)
    return Pools(lines, _out_of_compliance(session, on))


def _out_of_compliance(session: Session, on: date) -> set[PoolKey]:
    found: set[PoolKey] = set()
    offset = 0
    while True:
        page = list_counters(session, on, status=OUT_OF_COMPLIANCE, limit=_PAGE, offset=offset)
        found.update((row.counter.va_id, row.counter.tag) for row in page.rows)
        offset += _PAGE
        if offset >= page.total:
            return found


def compare(session: Session, before: Pools, on: date) -> ImportDiff:
    after = capture(session, on)
    per_va: dict[int, VaChange] = {}
    names = _va_names(session)

    def change(va_id: int) -> VaChange:
        if va_id not in per_va:
            account, va, _ = names.get(va_id, ("?", "?", 0))
            per_va[va_id] = VaChange(account, va)
        return per_va[va_id]

    for key in before.lines.keys() | after.lines.keys():
        old, new = before.lines.get(key), after.lines.get(key)
        if old is None:
            change(key[0]).added += 1
        elif new is None:
            change(key[0]).removed += 1
        elif old != new:
            change(key[0]).changed += 1
    diff = ImportDiff(vas=sorted(per_va.values(), key=lambda v: (v.account, v.va)))
    for key in sorted(before.out_of_compliance ^ after.out_of_compliance):
        was, now = ((OUT_OF_COMPLIANCE, IN_COMPLIANCE) if key in before.out_of_compliance
                    else (IN_COMPLIANCE, OUT_OF_COMPLIANCE))
        if was != now:
            account, va, account_id = names.get(key[0], ("?", "?", 0))
            devices = list(session.scalars(
                select(LicenseUsage.owner).where(LicenseUsage.va_id == key[0],
                                                 LicenseUsage.tag == key[1])
                .order_by(LicenseUsage.owner).distinct()))
            diff.compliance.append(ComplianceChange(
                account, va, key[0], account_id, key[1], was, now, devices[:_DEVICES_SHOWN],
                len(devices)))
    return diff


def _va_names(session: Session) -> dict[int, tuple[str, str, int]]:
    rows = session.execute(select(VirtualAccount.id, Account.domain, VirtualAccount.name,
                                  Account.id).join(Account,
                                                   Account.id == VirtualAccount.account_id))
    return {va_id: (domain, name, account_id) for va_id, domain, name, account_id in rows}

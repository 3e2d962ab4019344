"""Compliance: the one rule that says whether a pool is short, and what follows when that changes.

A pool (VA and tag) is Out Of Compliance when what is consumed and reserved exceeds its
quantity. Whatever changes a pool (a device's usage, a reservation, a transfer, a line that
expires, aging, an import from Central) records the pool here (`pools_changed`); when the
transaction commits, `settle` compares each such pool with its out-of-compliance alert: a pool
that became short raises the alert (once) and marks the devices consuming it Out Of
Compliance; a pool that is covered again clears it and gives those devices back the status
their pools give. The open alert is the memory of a pool's state, so nothing is raised twice.
The hourly check (`check_all`) does the same for every pool, catching what no write recorded.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Connection, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from satellite.accounts.models import Account, VirtualAccount
from satellite.alerts.models import CRITICAL, WARNING, Alert
from satellite.alerts.models import POOL_SHORT as ALERT_KIND
from satellite.db import in_chunks
from satellite.licenses.models import IN_COMPLIANCE, OUT_OF_COMPLIANCE, LicenseUsage
from satellite.uow import before_commit

if TYPE_CHECKING:
    from satellite.licenses.counters import Counter

PoolKey = tuple[int, str]
"""(va_id, tag)"""

# A shortfall of more than this share of the pool (or any use of a pool of none) is critical.
CRITICAL_SHARE = 0.10
_PENDING = "licenses.compliance.pending"
_DEVICE_OWNER = "device:"


def status(available: int) -> str:
    """The rule: a pool is Out Of Compliance when its available count is below zero."""
    return OUT_OF_COMPLIANCE if available < 0 else IN_COMPLIANCE


def short_sql(quantity: Any, in_use: Any, reserved: Any) -> ColumnElement[bool]:
    """The same rule as an SQL condition, for filtering counters in the database."""
    short: ColumnElement[bool] = quantity - in_use - reserved < 0
    return short


def severity(quantity: int, available: int) -> str:
    """How bad a shortfall is: critical beyond CRITICAL_SHARE of the pool, else warning."""
    return CRITICAL if quantity == 0 or -available > quantity * CRITICAL_SHARE else WARNING


def alert_key(va_id: int, tag: str) -> str:
    return f"{ALERT_KIND}:{va_id}:{tag}"


def pools_changed(session: Session | Connection, keys: Iterable[PoolKey]) -> None:
    """Note pools whose counters changed in this transaction; they are settled at commit.

    Writes on a bare connection are not followed: the hourly check settles them.
    """
    if not isinstance(session, Session):
        return
    session.info.setdefault(_PENDING, set()).update(keys)
    before_commit(session, _PENDING, settle)


def settle(session: Session, now: datetime) -> None:
    """Raise or clear the alerts of the pools changed in this transaction (see the module)."""
    keys = session.info.pop(_PENDING, set())
    if not keys:
        return
    # Imported here: counters read the pools, whose writers call into this module.
    from satellite.licenses.counters import pool_counters

    states = pool_counters(session, keys, now.date())
    open_alerts = _open_alerts(session, keys)
    _reconcile(session, keys, states, open_alerts, now)


def check_all(session: Session, now: datetime) -> int:
    """The hourly check: settle every pool, raising what was missed. Returns the open count."""
    from satellite.licenses.counters import every_counter

    states = {(c.va_id, c.tag): c for c in every_counter(session, now.date())}
    short = {key: state for key, state in states.items() if state.status == OUT_OF_COMPLIANCE}
    open_alerts = {_pool_of(a.key): a for a in session.scalars(
        select(Alert).where(Alert.kind == ALERT_KIND, Alert.cleared_at.is_(None)))}
    keys = set(short) | set(open_alerts)
    _reconcile(session, keys, states, open_alerts, now)
    return len(short)


def _pool_of(key: str) -> PoolKey:
    _kind, va_id, tag = key.split(":", 2)
    return int(va_id), tag


def _open_alerts(session: Session, keys: Collection[PoolKey]) -> dict[PoolKey, Alert]:
    found: dict[PoolKey, Alert] = {}
    for chunk in in_chunks(sorted(alert_key(va, tag) for va, tag in keys)):
        for alert in session.scalars(select(Alert).where(Alert.key.in_(chunk))):
            if alert.cleared_at is None:
                found[_pool_of(alert.key)] = alert
    return found


def _reconcile(session: Session, keys: Collection[PoolKey], states: dict[PoolKey, Counter],
               open_alerts: dict[PoolKey, Alert], now: datetime) -> None:
    # Imported here: the alerts service reads accounts, which read devices, whose models use
    # this package's words; the pools' writers import this module early in that chain.
    from satellite.alerts.service import clear_alert, raise_alert

    turned: set[PoolKey] = set()
    names = _names(session, {va for va, _tag in keys})
    for key in sorted(keys):
        state, alert = states.get(key), open_alerts.get(key)
        if state is None or state.status != OUT_OF_COMPLIANCE:
            if alert is not None:
                clear_alert(session, alert.key, now)
                turned.add(key)
            continue
        level = severity(state.quantity, state.available)
        account_id, where = names.get(key[0], (None, f"VA {key[0]}"))
        message = _message(state, where)
        if alert is None or level != alert.severity:
            try:
                # Writers of one pool queue on its row, but the hourly check does not: a
                # transaction that raised the same alert first has done the work.
                with session.begin_nested():
                    raise_alert(session, alert_key(*key), ALERT_KIND, message, now,
                                account_id, level)
            except IntegrityError:
                continue
            turned.add(key)
        elif alert.message != message:
            # The same shortfall, other numbers: kept current without a new delivery.
            alert.message, alert.updated_at = message, now
    if turned:
        restatus_devices(session, turned, now)


def _message(state: Counter, where: str) -> str:
    held = (f"{state.quantity} license(s)" if state.quantity
            else "no license line (unlicensed use)")
    reserved = f" and {state.reserved} reserved" if state.reserved else ""
    return (f"{state.tag} in {where} is Out Of Compliance: {state.in_use} in use{reserved}, "
            f"{held}; short by {-state.available}")


def _names(session: Session, va_ids: Collection[int]) -> dict[int, tuple[int, str]]:
    """(account id, "domain/VA") of each VA."""
    found: dict[int, tuple[int, str]] = {}
    for chunk in in_chunks(sorted(va_ids)):
        for va_id, va, account_id, domain in session.execute(
                select(VirtualAccount.id, VirtualAccount.name, Account.id, Account.domain)
                .join(Account, Account.id == VirtualAccount.account_id)
                .where(VirtualAccount.id.in_(chunk))):
            found[va_id] = (account_id, f"{domain}/{va}")
    return found


def restatus_devices(session: Session, keys: Collection[PoolKey], now: datetime) -> None:
    """Give the devices consuming these pools the status their pools give now.

    Only devices in good standing are changed (Authorized or Out Of Compliance); Registered,
    Authorization Expired and Deregistered are about the device, not its pools.
    """
    # Imported here: device models use this package's words (see _reconcile).
    from satellite.devices.models import AUTHORIZED, Device
    from satellite.licenses.classic import unconverted_devices
    from satellite.licenses.counters import pool_counters

    wanted = set(keys)
    owners: set[str] = set()
    for chunk in in_chunks(sorted(wanted)):
        owners |= {owner for owner, va_id, tag in session.execute(
            select(LicenseUsage.owner, LicenseUsage.va_id, LicenseUsage.tag)
            .where(LicenseUsage.kind == "in_use", LicenseUsage.owner.like(_DEVICE_OWNER + "%"),
                   LicenseUsage.va_id.in_(sorted({va for va, _ in chunk})),
                   LicenseUsage.tag.in_(sorted({tag for _, tag in chunk}))))
            if (va_id, tag) in wanted}
    for chunk_owners in in_chunks(sorted(owners)):
        usage: dict[str, set[PoolKey]] = {}
        for owner, va_id, tag in session.execute(
                select(LicenseUsage.owner, LicenseUsage.va_id, LicenseUsage.tag)
                .where(LicenseUsage.kind == "in_use", LicenseUsage.owner.in_(chunk_owners))):
            usage.setdefault(owner, set()).add((va_id, tag))
        counters = pool_counters(session, set().union(*usage.values()), now.date())
        short = {key for key, c in counters.items() if c.status == OUT_OF_COMPLIANCE}
        by_status: dict[str, list[int]] = {AUTHORIZED: [], OUT_OF_COMPLIANCE: []}
        for owner, pools in usage.items():
            device_id = owner.removeprefix(_DEVICE_OWNER)
            if device_id.isdigit():
                by_status[OUT_OF_COMPLIANCE if pools & short else AUTHORIZED].append(
                    int(device_id))
        # A device still holding a classic license that is not converted stays out.
        held = unconverted_devices(session, by_status[AUTHORIZED])
        by_status[AUTHORIZED] = [i for i in by_status[AUTHORIZED] if i not in held]
        by_status[OUT_OF_COMPLIANCE] += sorted(held)
        for new_status, ids in by_status.items():
            if ids:
                session.execute(
                    update(Device).where(Device.id.in_(ids),
                                         Device.status.in_((AUTHORIZED, OUT_OF_COMPLIANCE)),
                                         Device.status != new_status)
                    .values(status=new_status).execution_options(synchronize_session=False))

"""Operator-side views and actions on product instances: list, show, transfer, remove."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, literal, or_, select, tuple_
from sqlalchemy.orm import Session, defer

from satellite.accounts.models import Account, VirtualAccount
from satellite.accounts.service import account_for, get_va, va_for
from satellite.actor import Actor
from satellite.audit.service import record
from satellite.clock import utc_text
from satellite.devices import evaluation
from satellite.devices.classic import device_classic
from satellite.devices.models import DEVICE_STATES, SLUP, Device
from satellite.devices.registration import owner_of, retire, udi_label
from satellite.errors import Conflict, InvalidInput, NotFound
from satellite.labels.filters import tagged_devices, wanted
from satellite.labels.pages import device_labels
from satellite.licenses.usage import owner_usage, owners_usage, set_usage
from satellite.permissions.policy import require, visible_account_ids, visible_va_ids
from satellite.slup.views import device_reports, states
from satellite.uow import UnitOfWork


@dataclass(frozen=True)
class DevicePage:
    """One page of devices. `total` is exact unless `bounded`: then more than `total` matched
    (counting further would read every matching row). `after` / `before` are the UDIs to ask
    for the next / previous page from, None when there is none."""

    total: int
    rows: list[dict[str, Any]]
    bounded: bool = False
    after: str | None = None
    before: str | None = None


def device_row(device: Device, account: str, va: str,
               now: datetime | None = None) -> dict[str, Any]:
    row = {
        "id": device.id, "udi": udi_label(device.pid, device.serial), "pid": device.pid,
        "sn": device.serial, "vid": device.vid, "uuid": device.uuid,
        "hostname": device.hostname, "product_tag": device.product_tag,
        "account": account, "va": va, "status": device.status,
        "last_contact_at": utc_text(device.last_contact_at),
        "authorization_expires_at": (utc_text(device.authorization_expires_at)
                                     if device.authorization_expires_at else None),
        "certificate_expires_at": utc_text(device.certificate_expires_at),
        "certificate_serial": device.certificate_serial,
        "registered_at": utc_text(device.registered_at),
        "first_registered_at": utc_text(device.first_registered_at),
        "registrations": device.registrations, "export_controlled": device.export_controlled,
        "deregistered_at": utc_text(device.deregistered_at) if device.deregistered_at else None,
        "reporting": device.reporting,
    }
    if now is not None:
        row["evaluation"] = evaluation.view(device.evaluation_started_at, device.in_evaluation,
                                            now)
    return row


def _visible(session: Session, actor: Actor, account_id: int | None) -> Any:
    """A condition limiting devices to the VAs the actor may see devices of (None: no limit)."""
    if actor.is_system_admin:
        return None
    accounts = visible_account_ids(session, actor) if account_id is None else {account_id}
    conditions = []
    for acc_id in sorted(accounts or ()):
        vas = visible_va_ids(session, actor, "device.view", acc_id)
        if vas is None:
            conditions.append(Device.account_id == acc_id)
        elif vas:
            conditions.append(Device.va_id.in_(sorted(vas)))
    return or_(*conditions) if conditions else Device.id.is_(None)


def udi_parts(udi: str) -> tuple[str, str] | None:
    """(PID, serial) of a UDI written `PID:<pid>,SN:<serial>`; None when it is not one."""
    parts = {k.strip().upper(): v.strip()
             for k, v in (p.split(":", 1) for p in udi.split(",") if ":" in p)}
    if "PID" in parts and "SN" in parts:
        return parts["PID"], parts["SN"]
    return None


def _search(session: Session, text: str, scope: list[Any]) -> Any:
    """What a search box entry means: a UDI, a serial number, a PID or a product tag when a
    device has exactly that, else the start of a hostname. Each is one index lookup."""
    udi = udi_parts(text)
    if udi is not None:
        return and_(Device.pid == udi[0], Device.serial == udi[1])
    # A serial number names a device per PID: naming those PIDs lets the lookup use the UDI
    # order's index directly instead of walking it.
    # (Ids first: asking for the PID there tempts the planner into a covering scan instead.)
    ids = list(session.scalars(select(Device.id).where(Device.serial == text, *scope).limit(100)))
    if ids:
        pids = set(session.scalars(select(Device.pid).where(Device.id.in_(ids))))
        return and_(Device.pid.in_(sorted(pids)), Device.serial == text)
    for column in (Device.pid, Device.product_tag):
        if session.scalar(select(Device.id).where(column == text, *scope).limit(1)) is not None:
            return column == text
    # A range the hostname index answers, narrowed to a true prefix (LIKE may ignore case).
    return and_(Device.hostname >= text, Device.hostname < text + "\U0010ffff",
                Device.hostname.startswith(text, autoescape=True))


def _names(session: Session, va_ids: set[int]) -> dict[int, tuple[str, str]]:
    """(account name, VA name) by VA id, for the VAs on one page, in one query."""
    if not va_ids:
        return {}
    rows = session.execute(select(VirtualAccount.id, Account.name, VirtualAccount.name)
                           .join(Account, Account.id == VirtualAccount.account_id)
                           .where(VirtualAccount.id.in_(sorted(va_ids))))
    return {va_id: (account, va) for va_id, account, va in rows}


def _cursor(udi: str) -> tuple[str, str]:
    found = udi_parts(udi)
    if found is None:
        raise InvalidInput(f"page position {udi!r} is not a UDI (PID:<pid>,SN:<serial>)")
    return found


def list_devices(session: Session, actor: Actor, *, account: str | None = None,
                 va: str | None = None, status: str | None = None, search: str | None = None,
                 limit: int | None = 100, offset: int = 0, after: str | None = None,
                 before: str | None = None, count_limit: int | None = None,
                 now: datetime | None = None, in_evaluation: str | None = None,
                 tagged: Sequence[str] = ()) -> DevicePage:
    """One page of the devices the actor may see, in UDI order.

    Pages by position (`offset`) or, faster at any depth, by the UDI to start `after` or to
    end `before`; `count_limit` stops counting there (the page then says "more than").
    Searching takes a UDI, a serial number, a PID, a product tag or the start of a hostname;
    `tagged` keeps the devices carrying every one of those operator tags.
    With `now`, rows show their evaluation; `in_evaluation` ("active", "expired", with `now`)
    keeps the devices in evaluation or whose evaluation expired. Raises InvalidInput / NotFound.
    """
    if va and not account:
        raise InvalidInput("--va needs --account: VA names are only unique inside an account")
    scope: list[Any] = []
    account_id = None
    if account:
        if va:
            # The VA implies its account; naming both could lead the planner to the
            # account's (much larger) index.
            acc, place = va_for(session, actor, account, va, "device.view")
            scope.append(Device.va_id == place.id)
        else:
            acc = account_for(session, actor, account, "account.view")
            require(session, actor, "device.view", account_id=acc.id)
            scope.append(Device.account_id == acc.id)
        account_id = acc.id
    visible = _visible(session, actor, account_id)
    if visible is not None:
        scope.append(visible)
    if status:
        if status not in DEVICE_STATES:
            raise InvalidInput(f"status {status!r} is not one of {', '.join(DEVICE_STATES)}")
        scope.append(Device.status == status)
    if in_evaluation:
        if now is None:
            raise InvalidInput("the evaluation filter needs the time")
        scope.append(evaluation.condition(in_evaluation, now))
    if search and search.strip():
        scope.append(_search(session, search.strip(), scope))
    narrowed = tagged_devices(session, scope, wanted(tagged), account_id,
                              scope[1:] if account and not va else scope)
    scope, total = narrowed.where, narrowed.count
    if total is None:
        matching = narrowed.matching
        if count_limit is not None:
            matching = matching.limit(count_limit + 1)
        total = session.scalar(select(func.count()).select_from(matching.subquery())) or 0
    bounded = count_limit is not None and total > count_limit
    pid, serial = narrowed.udi
    udi = tuple_(pid, serial)
    query = select(Device).options(defer(Device.certificate_pem)).where(*scope)
    backwards = before is not None
    if after is not None:
        query = query.where(udi > tuple_(*map(literal, _cursor(after))))
    elif before is not None:
        query = query.where(udi < tuple_(*map(literal, _cursor(before))))
    order = (pid.desc(), serial.desc()) if backwards else (pid, serial)
    query = query.order_by(*order).offset(offset)
    if limit is not None:
        query = query.limit(limit + 1)
    found = list(session.scalars(query))
    more = limit is not None and len(found) > limit
    found = found[:limit] if limit is not None else found
    if backwards:
        found.reverse()
    names = _names(session, {d.va_id for d in found})
    rows = [device_row(d, *names[d.va_id], now=now) for d in found]
    slup = states(session, [d.id for d in found if d.reporting == SLUP])
    tags = device_labels(session, [d.id for d in found])
    for row in rows:
        row["tags"] = tags[row["id"]]
        if row["id"] in slup:
            row["slup"] = slup[row["id"]]
    has_next = more if not backwards else bool(rows)
    has_previous = (more if backwards else after is not None or offset > 0) and bool(rows)
    return DevicePage(min(total, count_limit) if bounded and count_limit is not None else total,
                      rows, bounded,
                      after=rows[-1]["udi"] if has_next and rows else None,
                      before=rows[0]["udi"] if has_previous else None)


def count_by_status(session: Session, account_id: int | None = None,
                    count_limit: int | None = None) -> dict[str, int]:
    """How many devices are in each state, of one account or of all (every state listed,
    zeros included); with `count_limit`, a state with more says count_limit + 1."""
    if count_limit is None:
        query = select(Device.status, func.count()).group_by(Device.status)
        if account_id is not None:
            query = query.where(Device.account_id == account_id)
        found = dict(session.execute(query).all())
        return {state: int(found.get(state, 0)) for state in DEVICE_STATES}
    counts = {}
    for state in DEVICE_STATES:
        matching = select(Device.id).where(Device.status == state)
        if account_id is not None:
            matching = matching.where(Device.account_id == account_id)
        counts[state] = session.scalar(select(func.count()).select_from(
            matching.limit(count_limit + 1).subquery())) or 0
    return counts


def account_status_counts(session: Session, actor: Actor, account_ref: str,
                          count_limit: int | None = None) -> dict[str, int]:
    """How many devices of the account are in each state, for those who may see them all."""
    account = account_for(session, actor, account_ref, "account.view")
    require(session, actor, "device.view", account_id=account.id)
    return count_by_status(session, account.id, count_limit)


def find_device(session: Session, udi: str) -> Device:
    """Find a device by its UDI, `PID:<pid>,SN:<serial>`, or by a serial number alone."""
    parts = udi_parts(udi)
    query = select(Device)
    if parts is not None:
        query = query.where(Device.pid == parts[0], Device.serial == parts[1])
    else:
        query = query.where(Device.serial == udi.strip())
    found = list(session.scalars(query.limit(2)))
    if not found:
        raise NotFound(f"no device with UDI {udi!r} (give PID:<pid>,SN:<serial> or a serial number)")
    if len(found) > 1:
        raise Conflict(f"serial number {udi!r} is used by several products: give PID:<pid>,SN:{udi}")
    return found[0]


def _place(session: Session, device: Device) -> tuple[Account, VirtualAccount]:
    va = session.get(VirtualAccount, device.va_id)
    assert va is not None
    account = session.get(Account, va.account_id)
    assert account is not None
    return account, va


def checked_device(session: Session, actor: Actor, udi: str,
             operation: str) -> tuple[Device, Account, VirtualAccount]:
    """The device, if the actor may do `operation` on it; NotFound as if absent otherwise."""
    device = find_device(session, udi)
    account, va = _place(session, device)
    require(session, actor, operation, account_id=account.id, va_id=va.id,
            not_found=f"no device with UDI {udi!r} (give PID:<pid>,SN:<serial> or a serial number)")
    return device, account, va


def usage_by_tag(session: Session, device_id: int) -> dict[str, int]:
    """What one device consumes, by tag."""
    return usages_by_tag(session, [device_id])[device_id]


def usages_by_tag(session: Session, device_ids: Collection[int]) -> dict[int, dict[str, int]]:
    """What each device consumes, by tag, for a page of devices in a fixed number of queries.
    Every device is listed, one consuming nothing as {}."""
    owners = {owner_of(device_id): device_id for device_id in device_ids}
    return {owners[owner]: {tag: n for (_va, tag), n in sorted(usage.items())}
            for owner, usage in owners_usage(session, owners, "in_use").items()}


def show_device(session: Session, actor: Actor, udi: str,
                now: datetime | None = None) -> dict[str, Any]:
    """A device with its current consumption by tag (and its evaluation, given `now`)."""
    device, account, va = checked_device(session, actor, udi, "device.view")
    row = device_row(device, account.name, va.name, now)
    row["usage"] = usage_by_tag(session, device.id)
    row["tags"] = device_labels(session, [device.id])[device.id]
    if classic := device_classic(session, device.id):
        row["classicLicenses"] = classic
    if device.reporting == SLUP:
        row["slup"] = device_reports(session, device.id)
    return row


def transfer_device(uow: UnitOfWork, actor: Actor, udi: str, to_va: str) -> dict[str, Any]:
    """Move a device, and what it consumes, to another VA of its account."""
    session = uow.session
    device, account, va = checked_device(session, actor, udi, "device.manage")
    target = get_va(session, account, to_va)
    require(session, actor, "device.manage", account_id=account.id, va_id=target.id,
            not_found=f"account {account.name!r} has no virtual account named {to_va!r}")
    if target.id == va.id:
        raise InvalidInput(f"device {udi_label(device.pid, device.serial)} is already in {va.name!r}")
    owner = owner_of(device.id)
    usage = owner_usage(session, owner, "in_use")
    set_usage(session, owner, "in_use", {(target.id, tag): n for (_v, tag), n in usage.items()})
    device.va_id = target.id
    record(uow, actor, "device.transfer", f"device:{udi_label(device.pid, device.serial)}",
           account_id=account.id, details={"before": va.name, "after": target.name})
    return device_row(device, account.name, target.name)


def remove_device(uow: UnitOfWork, actor: Actor, udi: str) -> dict[str, Any]:
    """Operator-side removal (e.g. RMA): licenses back to the pool, certificate revoked."""
    device, account, va = checked_device(uow.session, actor, udi, "device.manage")
    retire(uow, actor, device, account.id, "device.remove", "removed by operator")
    return device_row(device, account.name, va.name)

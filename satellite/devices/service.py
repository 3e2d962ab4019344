"""Operator-side views and actions on product instances: list, show, transfer, remove."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from satellite.access.policy import require, visible_account_ids, visible_va_ids
from satellite.accounts.models import Account, VirtualAccount
from satellite.accounts.service import account_for, get_va, va_for
from satellite.actor import Actor
from satellite.audit.service import record
from satellite.devices.messages import format_time
from satellite.devices.models import DEVICE_STATES, Device
from satellite.devices.registration import owner_of, retire, udi_label
from satellite.errors import Conflict, InvalidInput, NotFound
from satellite.licenses.usage import owner_usage, set_usage
from satellite.uow import UnitOfWork


@dataclass(frozen=True)
class DevicePage:
    total: int
    rows: list[dict[str, Any]]


def _row(device: Device, account: Account, va: VirtualAccount) -> dict[str, Any]:
    return {
        "id": device.id, "udi": udi_label(device.pid, device.serial), "pid": device.pid,
        "sn": device.serial, "vid": device.vid, "uuid": device.uuid,
        "hostname": device.hostname, "product_tag": device.product_tag,
        "account": account.name, "va": va.name, "status": device.status,
        "last_contact_at": format_time(device.last_contact_at),
        "authorization_expires_at": (format_time(device.authorization_expires_at)
                                     if device.authorization_expires_at else None),
        "certificate_expires_at": format_time(device.certificate_expires_at),
        "certificate_serial": device.certificate_serial,
        "registered_at": format_time(device.registered_at),
        "first_registered_at": format_time(device.first_registered_at),
        "registrations": device.registrations, "export_controlled": device.export_controlled,
        "deregistered_at": format_time(device.deregistered_at) if device.deregistered_at else None,
    }


def _visible(session: Session, actor: Actor, account_id: int | None) -> Any:
    """A condition limiting devices to the VAs the actor may see devices of (None: no limit)."""
    if actor.is_system_admin:
        return None
    accounts = visible_account_ids(session, actor) if account_id is None else {account_id}
    conditions = []
    for acc_id in sorted(accounts or ()):
        vas = visible_va_ids(session, actor, "device.view", acc_id)
        if vas is None:
            conditions.append(VirtualAccount.account_id == acc_id)
        elif vas:
            conditions.append(Device.va_id.in_(sorted(vas)))
    return or_(*conditions) if conditions else Device.id.is_(None)


def list_devices(session: Session, actor: Actor, *, account: str | None = None,
                 va: str | None = None, status: str | None = None, search: str | None = None,
                 limit: int | None = 100, offset: int = 0) -> DevicePage:
    """One page of the devices the actor may see, ordered by account, VA and UDI, with the
    total that matched (limit None: all)."""
    query = (select(Device, Account, VirtualAccount)
             .join(VirtualAccount, VirtualAccount.id == Device.va_id)
             .join(Account, Account.id == VirtualAccount.account_id))
    if va and not account:
        raise InvalidInput("--va needs --account: VA names are only unique inside an account")
    account_id = None
    if account:
        if va:
            acc, place = va_for(session, actor, account, va, "device.view")
            query = query.where(Device.va_id == place.id)
        else:
            acc = account_for(session, actor, account, "account.view")
            require(session, actor, "device.view", account_id=acc.id)
        account_id = acc.id
        query = query.where(VirtualAccount.account_id == acc.id)
    visible = _visible(session, actor, account_id)
    if visible is not None:
        query = query.where(visible)
    if status:
        if status not in DEVICE_STATES:
            raise InvalidInput(f"status {status!r} is not one of {', '.join(DEVICE_STATES)}")
        query = query.where(Device.status == status)
    if search:
        like = f"%{search.strip()}%"
        query = query.where(or_(Device.pid.ilike(like), Device.serial.ilike(like),
                                Device.hostname.ilike(like), Device.product_tag.ilike(like)))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = session.execute(query.order_by(Account.name, VirtualAccount.name, Device.pid,
                                          Device.serial).limit(limit).offset(offset))
    return DevicePage(total, [_row(d, a, v) for d, a, v in page])


def count_by_status(session: Session) -> dict[str, int]:
    """How many devices are in each state (every state listed, zeros included)."""
    found = dict(session.execute(select(Device.status, func.count()).group_by(Device.status)).all())
    return {state: int(found.get(state, 0)) for state in DEVICE_STATES}


def find_device(session: Session, udi: str) -> Device:
    """Find a device by its UDI, `PID:<pid>,SN:<serial>`, or by a serial number alone."""
    parts = dict(p.split(":", 1) for p in udi.split(",") if ":" in p)
    query = select(Device)
    if "PID" in parts and "SN" in parts:
        query = query.where(Device.pid == parts["PID"].strip(), Device.serial == parts["SN"].strip())
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


def _checked(session: Session, actor: Actor, udi: str,
             operation: str) -> tuple[Device, Account, VirtualAccount]:
    """The device, if the actor may do `operation` on it; NotFound as if absent otherwise."""
    device = find_device(session, udi)
    account, va = _place(session, device)
    require(session, actor, operation, account_id=account.id, va_id=va.id,
            not_found=f"no device with UDI {udi!r} (give PID:<pid>,SN:<serial> or a serial number)")
    return device, account, va


def usage_by_tag(session: Session, device_id: int) -> dict[str, int]:
    usage = owner_usage(session, owner_of(device_id), "in_use")
    return {tag: n for (_va, tag), n in sorted(usage.items())}


def show_device(session: Session, actor: Actor, udi: str) -> dict[str, Any]:
    """A device with its current consumption by tag."""
    device, account, va = _checked(session, actor, udi, "device.view")
    row = _row(device, account, va)
    row["usage"] = usage_by_tag(session, device.id)
    return row


def transfer_device(uow: UnitOfWork, actor: Actor, udi: str, to_va: str) -> dict[str, Any]:
    """Move a device, and what it consumes, to another VA of its account."""
    session = uow.session
    device, account, va = _checked(session, actor, udi, "device.manage")
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
    return _row(device, account, target)


def remove_device(uow: UnitOfWork, actor: Actor, udi: str) -> dict[str, Any]:
    """Operator-side removal (e.g. RMA): licenses back to the pool, certificate revoked."""
    device, account, va = _checked(uow.session, actor, udi, "device.manage")
    retire(uow, actor, device, account.id, "device.remove", "removed by operator")
    return _row(device, account, va)

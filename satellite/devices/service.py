"""Operator-side views and actions on product instances: list, show, transfer, remove."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from satellite.accounts.models import Account, VirtualAccount
from satellite.accounts.service import get_account, get_va
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


def list_devices(session: Session, *, account: str | None = None, va: str | None = None,
                 status: str | None = None, search: str | None = None, limit: int = 100,
                 offset: int = 0) -> DevicePage:
    """One page of devices ordered by account, VA and UDI, with the total that matched."""
    query = (select(Device, Account, VirtualAccount)
             .join(VirtualAccount, VirtualAccount.id == Device.va_id)
             .join(Account, Account.id == VirtualAccount.account_id))
    if va and not account:
        raise InvalidInput("--va needs --account: VA names are only unique inside an account")
    if account:
        acc = get_account(session, account)
        query = query.where(VirtualAccount.account_id == acc.id)
        if va:
            query = query.where(Device.va_id == get_va(session, acc, va).id)
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


def show_device(session: Session, udi: str) -> dict[str, Any]:
    """A device with its current consumption by tag."""
    device = find_device(session, udi)
    account, va = _place(session, device)
    row = _row(device, account, va)
    usage = owner_usage(session, owner_of(device.id), "in_use")
    row["usage"] = {tag: n for (_va, tag), n in sorted(usage.items())}
    return row


def transfer_device(uow: UnitOfWork, actor: Actor, udi: str, to_va: str) -> dict[str, Any]:
    """Move a device, and what it consumes, to another VA of its account."""
    session = uow.session
    device = find_device(session, udi)
    account, va = _place(session, device)
    target = get_va(session, account, to_va)
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
    device = find_device(uow.session, udi)
    account, va = _place(uow.session, device)
    retire(uow, actor, device, account.id, "device.remove", "removed by operator")
    return _row(device, account, va)

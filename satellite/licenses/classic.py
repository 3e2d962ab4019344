"""Classic (PAK) licenses: list them per account and VA, move them between VAs, and ask
Central to convert them to Smart Licensing.

Classic licenses arrive only from Central (cloudsync.classic). A conversion is a request that
travels up with the next usage batch; Central answers in a later response, whose entitlement
lines bring the pooled licenses into the request's VA. Until then the request is Pending, and
what it asks for cannot be asked for twice.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from satellite.accounts.models import Account, VirtualAccount
from satellite.accounts.service import account_for, get_va, va_for
from satellite.actor import Actor
from satellite.audit.service import record
from satellite.cloudsync import outbound
from satellite.db import in_chunks
from satellite.errors import Conflict, InvalidInput, NotFound
from satellite.licenses.classic_models import (
    COMPLETED,
    DEVICE,
    OPERATOR,
    PENDING,
    ClassicConversion,
    ClassicLicense,
)
from satellite.limits import check_text
from satellite.permissions.policy import require, visible_va_ids
from satellite.uow import UnitOfWork

MAX_LIST = 10_000


@dataclass(frozen=True)
class ClassicView:
    """A classic license with its VA's name and what pending requests hold of it."""

    license: ClassicLicense
    va: str | None
    pending: int

    @property
    def unconverted(self) -> int:
        return max(self.license.quantity - self.license.converted, 0)

    @property
    def convertible(self) -> int:
        return max(self.unconverted - self.pending, 0)


@dataclass(frozen=True)
class ConversionView:
    conversion: ClassicConversion
    va: str
    device: str | None  # the UDI of the device that asked, for device-led requests


def _ref(value: str, name: str) -> str:
    return check_text(value, name, 100).strip()


def _visible(session: Session, actor: Actor, account: Account) -> set[int] | None:
    return visible_va_ids(session, actor, "license.view", account.id)


def list_classic(session: Session, actor: Actor, account_ref: str,
                 va_name: str | None = None) -> tuple[Account, list[ClassicView]]:
    """The account's classic licenses the actor may see (one VA's, when named).

    A license of no VA is visible to everyone with access to the account.
    """
    if va_name:
        account, va = va_for(session, actor, account_ref, va_name, "license.view")
        condition = ClassicLicense.va_id == va.id
    else:
        account = account_for(session, actor, account_ref, "license.view")
        visible = _visible(session, actor, account)
        condition = ClassicLicense.account_id == account.id
        if visible is not None:
            condition = ClassicLicense.va_id.is_(None) | ClassicLicense.va_id.in_(visible)
    rows = session.execute(
        select(ClassicLicense, VirtualAccount.name)
        .outerjoin(VirtualAccount, VirtualAccount.id == ClassicLicense.va_id)
        .where(ClassicLicense.account_id == account.id, condition)
        .order_by(ClassicLicense.pak, ClassicLicense.sku).limit(MAX_LIST)).all()
    pending = _pending(session, account.id)
    return account, [ClassicView(lic, va, pending.get((lic.pak, lic.sku), 0))
                     for lic, va in rows]


def _pending(session: Session, account_id: int) -> dict[tuple[str, str], int]:
    return {(pak, sku): int(total) for pak, sku, total in session.execute(
        select(ClassicConversion.pak, ClassicConversion.sku, func.sum(ClassicConversion.quantity))
        .where(ClassicConversion.account_id == account_id, ClassicConversion.status == PENDING)
        .group_by(ClassicConversion.pak, ClassicConversion.sku))}


def list_conversions(session: Session, actor: Actor, account_ref: str,
                     va_name: str | None = None, limit: int = 200) -> list[ConversionView]:
    """Conversion requests of the account (newest first) into the VAs the actor may see."""
    from satellite.devices.models import Device  # devices build on licenses, not the reverse

    if va_name:
        account, va = va_for(session, actor, account_ref, va_name, "license.view")
        condition = ClassicConversion.va_id == va.id
    else:
        account = account_for(session, actor, account_ref, "license.view")
        visible = _visible(session, actor, account)
        condition = (ClassicConversion.va_id.in_(visible) if visible is not None
                     else ClassicConversion.account_id == account.id)
    rows = session.execute(
        select(ClassicConversion, VirtualAccount.name, Device.pid, Device.serial)
        .join(VirtualAccount, VirtualAccount.id == ClassicConversion.va_id)
        .outerjoin(Device, Device.id == ClassicConversion.device_id)
        .where(ClassicConversion.account_id == account.id, condition)
        .order_by(ClassicConversion.id.desc()).limit(limit)).all()
    return [ConversionView(c, va, f"PID:{pid},SN:{sn}" if pid else None)
            for c, va, pid, sn in rows]


def _license(session: Session, account: Account, pak: str, sku: str,
             lock: bool = False) -> ClassicLicense:
    query = select(ClassicLicense).where(ClassicLicense.account_id == account.id,
                                         ClassicLicense.pak == pak, ClassicLicense.sku == sku)
    found = session.scalar(query.with_for_update() if lock else query)
    if found is None:
        raise NotFound(f"account {account.name!r} has no classic license PAK {pak} SKU {sku}",
                       field="pak")
    return found


def _require_on(session: Session, actor: Actor, operation: str, account: Account,
                va_id: int | None) -> None:
    # A license of no VA is the account's: VA roles see it, account roles act on it.
    require(session, actor, operation, account_id=account.id, va_id=va_id,
            not_found=f"no account named {account.name!r}")


def _va_name(session: Session, va_id: int | None) -> str | None:
    va = session.get(VirtualAccount, va_id) if va_id is not None else None
    return va.name if va is not None else None


def transfer_classic(uow: UnitOfWork, actor: Actor, account_ref: str, pak: str, sku: str,
                     target_va: str) -> ClassicView:
    """Move a classic license to another VA of its account (transfer right on both VAs).

    Raises NotFound (account, VA, license), InvalidInput (already there), PermissionDenied.
    """
    session = uow.session
    pak, sku = _ref(pak, "pak"), _ref(sku, "sku")
    account = account_for(session, actor, account_ref, "license.view")
    lic = _license(session, account, pak, sku, lock=True)
    _require_on(session, actor, "license.transfer", account, lic.va_id)
    target = va_for(session, actor, account.domain, target_va, "license.transfer")[1]
    if lic.va_id == target.id:
        raise InvalidInput(f"PAK {pak} SKU {sku} is already in virtual account {target.name!r}",
                           field="target_va")
    before = _va_name(session, lic.va_id)
    lic.va_id = target.id
    record(uow, actor, "classic.transfer", f"classic:{pak}/{sku}", account_id=account.id,
           details={"pak": pak, "sku": sku, "from": before, "to": target.name,
                    "quantity": lic.quantity, "converted": lic.converted})
    # Central hears of it with the next usage batch, and names the new VA from then on.
    outbound.append(session, outbound.CLASSIC_TRANSFER, {
        "account": account.domain, "pak": pak, "sku": sku, "from": before, "to": target.name},
        uow.clock.now())
    return ClassicView(lic, target.name, _pending(session, account.id).get((pak, sku), 0))


def convert_classic(uow: UnitOfWork, actor: Actor, account_ref: str, pak: str, sku: str,
                    quantity: int, va_name: str | None = None) -> ConversionView:
    """Ask Central to convert `quantity` of a classic license to pooled licenses of a VA.

    The VA is the one named, else the license's, else the account's Default. The request
    goes up with the next usage batch and shows Pending until Central's answer is imported.
    Raises NotFound, InvalidInput (quantity), Conflict (more than is left to convert),
    PermissionDenied (the convert right on the license's VA and on the target VA).
    """
    session = uow.session
    pak, sku = _ref(pak, "pak"), _ref(sku, "sku")
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise InvalidInput(f"a conversion takes a whole number of licenses, at least 1 "
                           f"(got {quantity!r})", field="quantity")
    account = account_for(session, actor, account_ref, "license.view")
    lic = _license(session, account, pak, sku, lock=True)
    if lic.va_id is not None:
        _require_on(session, actor, "license.convert", account, lic.va_id)
    if va_name:
        target = va_for(session, actor, account.domain, va_name, "license.convert")[1]
    else:
        target = (session.get(VirtualAccount, lic.va_id) if lic.va_id is not None else None) \
            or _default_va(session, account)
        _require_on(session, actor, "license.convert", account, target.id)
    view = ClassicView(lic, None, _pending(session, account.id).get((pak, sku), 0))
    if quantity > view.convertible:
        raise Conflict(f"PAK {pak} SKU {sku} has {view.convertible} left to convert "
                       f"(quantity {lic.quantity}, converted {lic.converted}, pending "
                       f"{view.pending}); cannot convert {quantity}", field="quantity")
    conversion = new_request(uow, actor, account, target, pak, sku, quantity, OPERATOR, None)
    return ConversionView(conversion, target.name, None)


def _default_va(session: Session, account: Account) -> VirtualAccount:
    found = session.scalar(select(VirtualAccount).where(
        VirtualAccount.account_id == account.id, VirtualAccount.is_default.is_(True)))
    return found if found is not None else get_va(session, account, "Default")


def new_request(uow: UnitOfWork, actor: Actor, account: Account, va: VirtualAccount, pak: str,
                sku: str, quantity: int, origin: str, device_id: int | None) -> ClassicConversion:
    """Record a Pending conversion request (and audit it) in the caller's transaction."""
    now = uow.clock.now()
    conversion = ClassicConversion(
        request_id=uuid.uuid4().hex, account_id=account.id, va_id=va.id, pak=pak, sku=sku,
        quantity=quantity, origin=origin, device_id=device_id, status=PENDING,
        requested_by=actor.label[:150], requested_at=now, completed_at=None, line_id="",
        reason="")
    uow.session.add(conversion)
    uow.session.flush()
    record(uow, actor, "classic.convert", f"classic:{pak}/{sku}", account_id=account.id,
           details={"pak": pak, "sku": sku, "quantity": quantity, "virtual_account": va.name,
                    "origin": origin, "device_id": device_id,
                    "request_id": conversion.request_id})
    return conversion


def unconverted_devices(session: Session, device_ids: Collection[int]) -> set[int]:
    """Those of the devices that hold a classic license not converted yet (device-led)."""
    found: set[int] = set()
    for chunk in in_chunks(sorted(device_ids)):
        found |= set(session.scalars(
            select(ClassicConversion.device_id).distinct()
            .where(ClassicConversion.origin == DEVICE, ClassicConversion.status != COMPLETED,
                   ClassicConversion.device_id.in_(chunk))))
    return found

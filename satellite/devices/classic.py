"""Device-led conversion: a device upgraded to Smart Licensing reports the classic licenses it
still holds; the satellite asks Central to convert them, and until they are converted the
device is Out Of Compliance for them, with the reason in its authorization answer."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from satellite.accounts.models import Account, VirtualAccount
from satellite.devices.messages import AUTHORIZED, OUT_OF_COMPLIANCE, ClassicHolding
from satellite.devices.models import AUTHORIZED as DEVICE_AUTHORIZED
from satellite.devices.models import OUT_OF_COMPLIANCE as DEVICE_OUT_OF_COMPLIANCE
from satellite.devices.models import Device
from satellite.devices.registration import device_actor, owner_of
from satellite.licenses.classic import new_request, unconverted_devices
from satellite.licenses.classic_models import (
    COMPLETED,
    DEVICE,
    PENDING,
    ClassicConversion,
    ClassicLicense,
)
from satellite.licenses.compliance import restatus_devices
from satellite.licenses.models import LicenseUsage
from satellite.uow import UnitOfWork


def not_converted_reason(pak: str, sku: str, conversion: ClassicConversion) -> str:
    """Why a device holding this classic license is Out Of Compliance for it."""
    text = (f"classic license PAK {pak} SKU {sku} is not converted to Smart Licensing yet")
    if conversion.status == PENDING:
        return text + (f": conversion requested {conversion.requested_at:%Y-%m-%d}, waiting for "
                       "Central's answer in the next sync")
    return text + f": Central refused the conversion ({conversion.reason or 'no reason given'})"


def record_holdings(uow: UnitOfWork, device_id: int, account_id: int, va_id: int,
                    holdings: Sequence[ClassicHolding]) -> list[dict[str, Any]]:
    """Ask for the conversion of each classic license the device reports (once per license);
    return, per license, what the device's answer says of it."""
    session = uow.session
    account = session.get(Account, account_id)
    va = session.get(VirtualAccount, va_id)
    assert account is not None and va is not None
    tags = {(lic.pak, lic.sku): lic.tag for lic in session.scalars(
        select(ClassicLicense).where(ClassicLicense.account_id == account_id,
                                     ClassicLicense.pak.in_([h.pak for h in holdings])))}
    # The latest request of each license: a refused one is not asked again by itself.
    latest: dict[tuple[str, str], ClassicConversion] = {}
    for found in session.scalars(
            select(ClassicConversion)
            .where(ClassicConversion.device_id == device_id, ClassicConversion.origin == DEVICE,
                   ClassicConversion.pak.in_([h.pak for h in holdings]))
            .order_by(ClassicConversion.id)):
        latest[(found.pak, found.sku)] = found
    entries = []
    for holding in holdings:
        conversion = latest.get((holding.pak, holding.sku))
        if conversion is None:
            conversion = new_request(uow, device_actor(device_id), account, va, holding.pak,
                                     holding.sku, holding.quantity, DEVICE, device_id)
        entry: dict[str, Any] = {**holding.to_json(), "conversion": conversion.status}
        if (tag := tags.get((holding.pak, holding.sku))) is not None:
            entry["tag"] = tag
        if conversion.status == COMPLETED:
            entry["status"] = AUTHORIZED
        else:
            entry.update(status=OUT_OF_COMPLIANCE,
                         reason=not_converted_reason(holding.pak, holding.sku, conversion))
        entries.append(entry)
    return entries


def settle_converted(session: Session, device_ids: Collection[int], now: datetime) -> None:
    """Give devices whose classic licenses were converted the status their pools give."""
    ids = set(device_ids) - unconverted_devices(session, device_ids)
    if not ids:
        return
    owners = {owner_of(i): i for i in ids}
    pools = {(va_id, tag) for va_id, tag in session.execute(
        select(LicenseUsage.va_id, LicenseUsage.tag).where(
            LicenseUsage.kind == "in_use", LicenseUsage.owner.in_(sorted(owners))))}
    using = set(session.scalars(select(LicenseUsage.owner).where(
        LicenseUsage.kind == "in_use", LicenseUsage.owner.in_(sorted(owners)))))
    session.execute(
        update(Device).where(Device.id.in_(sorted(ids - {owners[o] for o in using})),
                             Device.status == DEVICE_OUT_OF_COMPLIANCE)
        .values(status=DEVICE_AUTHORIZED).execution_options(synchronize_session=False))
    if pools:
        restatus_devices(session, pools, now)


def device_classic(session: Session, device_id: int) -> list[dict[str, Any]]:
    """The classic licenses a device reported, newest first, with why each not converted
    makes it Out Of Compliance (for its page and the REST API)."""
    return [{"pak": c.pak, "sku": c.sku, "quantity": c.quantity, "conversion": c.status,
             "requestId": c.request_id,
             "reason": "" if c.status == COMPLETED else not_converted_reason(c.pak, c.sku, c)}
            for c in session.scalars(
                select(ClassicConversion).where(ClassicConversion.device_id == device_id)
                .order_by(ClassicConversion.id.desc()))]

"""Removing a VA: only an empty one, and what is left is named. Apart from the lookups in
service.py (which about twenty modules import), since it must read every domain's rows."""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from satellite.accounts.models import DEFAULT_VA, VirtualAccount
from satellite.accounts.service import va_for
from satellite.actor import Actor
from satellite.audit.service import record
from satellite.devices.models import Device
from satellite.errors import Conflict
from satellite.licenses.classic_models import ClassicConversion, ClassicLicense
from satellite.licenses.models import DepositRule, LicenseLine, LicenseUsage, UsageSnapshot, UsageTotal
from satellite.reservation.models import RESERVED, Reservation
from satellite.tokens.models import RegistrationToken
from satellite.uow import UnitOfWork


def va_contents(session: Session, va_id: int) -> dict[str, int]:
    """What keeps a VA from being deleted, by kind; empty when it may go."""
    counts = {
        "child virtual accounts": session.scalar(
            select(func.count()).where(VirtualAccount.parent_id == va_id)) or 0,
        "license lines": session.scalar(
            select(func.count()).select_from(LicenseLine).where(LicenseLine.va_id == va_id)) or 0,
        "license consumers": session.scalar(
            select(func.count(func.distinct(LicenseUsage.owner)))
            .where(LicenseUsage.va_id == va_id)) or 0,
        "open reservations": session.scalar(
            select(func.count()).select_from(Reservation).where(
                Reservation.va_id == va_id, Reservation.status == RESERVED)) or 0,
        # Deregistered devices count too: they are the VA's history.
        "devices": session.scalar(
            select(func.count()).select_from(Device).where(Device.va_id == va_id)) or 0,
        "registration tokens": session.scalar(
            select(func.count()).select_from(RegistrationToken)
            .where(RegistrationToken.va_id == va_id)) or 0,
        "deposit rules sending lines to it": session.scalar(
            select(func.count()).select_from(DepositRule).where(DepositRule.va_id == va_id)) or 0,
        "classic licenses": session.scalar(
            select(func.count()).select_from(ClassicLicense)
            .where(ClassicLicense.va_id == va_id)) or 0,
        # Conversions into the VA are its history, like devices.
        "classic license conversions": session.scalar(
            select(func.count()).select_from(ClassicConversion)
            .where(ClassicConversion.va_id == va_id)) or 0,
    }
    return {kind: n for kind, n in counts.items() if n}


def delete_va(uow: UnitOfWork, actor: Actor, account_ref: str, name: str) -> None:
    """Delete an empty VA. Raises Conflict naming what is left in it."""
    session = uow.session
    account, va = va_for(session, actor, account_ref, name, "va.delete")
    if va.is_default:
        raise Conflict(f"the {DEFAULT_VA} virtual account cannot be deleted")
    left = va_contents(session, va.id)
    if left:
        what = ", ".join(f"{n} {kind}" for kind, n in left.items())
        raise Conflict(f"virtual account {name!r} is not empty: it still has {what}")
    session.execute(delete(UsageTotal).where(UsageTotal.va_id == va.id))
    session.execute(delete(UsageSnapshot).where(UsageSnapshot.va_id == va.id))
    session.delete(va)
    record(uow, actor, "va.delete", f"va:{account.domain}/{name}", account_id=account.id)

"""Aging: devices that stop calling lose their authorization, then their registration."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select

from satellite.accounts.models import VirtualAccount
from satellite.actor import Actor
from satellite.audit.service import record
from satellite.clockcheck import check_clock, recorded_jump
from satellite.config import Settings
from satellite.devices.models import AUTHORIZATION_EXPIRED, DEREGISTERED, Device
from satellite.devices.registration import retire, udi_label
from satellite.devices.verification import purge_nonces
from satellite.uow import Database, UnitOfWork

AGING_ACTOR = Actor.system("device-aging")


@dataclass(frozen=True)
class Transition:
    udi: str
    before: str
    after: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"udi": self.udi, "before": self.before, "after": self.after, "reason": self.reason}


def age_devices(uow: UnitOfWork, settings: Settings, as_of: datetime,
                dry_run: bool = False) -> list[Transition]:
    """Apply (or, with dry_run, only list) what the passage of time does to devices by `as_of`.

    No contact for longer than the authorization window: Authorization Expired (Out Of
    Compliance). ID certificate expired: deregistered, licenses back to the pool.
    """
    session = uow.session
    silent_since = as_of - timedelta(days=settings.authorization_valid_days)
    due = session.execute(
        select(Device, VirtualAccount.account_id)
        .join(VirtualAccount, VirtualAccount.id == Device.va_id)
        .where(Device.status != DEREGISTERED,
               (Device.certificate_expires_at <= as_of)
               | ((Device.last_contact_at < silent_since)
                  & (Device.status != AUTHORIZATION_EXPIRED)))
        .order_by(Device.id)
    ).all()
    transitions = []
    for device, account_id in due:
        udi = udi_label(device.pid, device.serial)
        if device.certificate_expires_at <= as_of:
            reason = f"ID certificate expired on {device.certificate_expires_at:%Y-%m-%d}"
            transitions.append(Transition(udi, device.status, DEREGISTERED, reason))
            if not dry_run:
                retire(uow, AGING_ACTOR, device, account_id, "device.expire_certificate", reason)
            continue
        reason = (f"no contact since {device.last_contact_at:%Y-%m-%d} "
                  f"(more than {settings.authorization_valid_days} days)")
        transitions.append(Transition(udi, device.status, AUTHORIZATION_EXPIRED, reason))
        if not dry_run:
            record(uow, AGING_ACTOR, "device.authorization_expired", f"device:{udi}",
                   account_id=account_id,
                   details={"before": device.status, "after": AUTHORIZATION_EXPIRED,
                            "reason": reason})
            device.status = AUTHORIZATION_EXPIRED
    # Never on a clock that jumped: forgetting nonces by a clock an hour ahead would refuse
    # every device once the clock is set right (see clockcheck).
    if not dry_run and recorded_jump(session) is None:
        purge_nonces(session, as_of)
    return transitions


def aging_job(db: Database, settings: Settings) -> None:
    """The scheduled form: check the clock, then age devices as of now."""
    with db.uow() as uow:
        check_clock(uow, settings, db.clock_watch)
        age_devices(uow, settings, uow.clock.now())
        uow.commit()

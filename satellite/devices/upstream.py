"""What Central hears about devices: registrations, deregistrations and usage changes.

Each fact is appended to the outbound log in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from satellite.accounts.models import Account, VirtualAccount
from satellite.cloudsync import outbound
from satellite.devices.models import Device


def _place(session: Session, device_id: int) -> tuple[str, str, str]:
    row = session.execute(
        select(Device.pid, Device.serial, Account.domain, VirtualAccount.name)
        .join(VirtualAccount, VirtualAccount.id == Device.va_id)
        .join(Account, Account.id == VirtualAccount.account_id)
        .where(Device.id == device_id)).one()
    return f"{row.pid}:{row.serial}", row.domain, row.name


def log_device(session: Session, kind: str, device_id: int, at: datetime) -> None:
    """Log a registration or deregistration (kind from cloudsync.outbound)."""
    outbound.append(session, kind, device_fact(*_place(session, device_id)), at)


def device_fact(udi: str, account: str, va: str) -> dict[str, str]:
    """What Central hears of a device's registration or deregistration (`udi` as PID:serial)."""
    return {"udi": udi, "account": account, "va": va}


def log_usage(session: Session, device_id: int, counts: Mapping[str, int], at: datetime) -> None:
    """Log a device's new count for each tag whose count changed (0 when it stopped using it)."""
    for payload in usage_facts(*_place(session, device_id), counts):
        outbound.append(session, outbound.USAGE, payload, at)


def usage_facts(udi: str, account: str, va: str,
                counts: Mapping[str, int]) -> list[dict[str, Any]]:
    """The usage facts Central hears for a device (`udi` as PID:serial) whose counts changed."""
    return [{"device": udi, "account": account, "va": va, "tag": tag, "count": counts[tag]}
            for tag in sorted(counts)]

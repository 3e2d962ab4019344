"""What a device's tags carry of the device: its account (which a move or a re-registration
changes) and its UDI (which never changes)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from satellite.labels.models import DeviceLabel


def placed(device: Any) -> dict[str, Any]:
    """The columns a tag of `device` carries besides its word."""
    return {"device_id": device.id, "account_id": device.account_id, "pid": device.pid,
            "serial": device.serial}


def follow_device(session: Session, device_id: int, account_id: int) -> None:
    """The device's tags follow it to `account_id` (in the caller's transaction)."""
    session.execute(update(DeviceLabel).where(DeviceLabel.device_id == device_id,
                                              DeviceLabel.account_id != account_id)
                    .values(account_id=account_id))

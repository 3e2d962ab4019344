"""The tags of a page of items, each kind in one query (lists show them beside each row)."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from satellite.db import pairs_in
from satellite.labels.models import DeviceLabel, LicenseLabel, ReservationLabel


def device_labels(session: Session, device_ids: Collection[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {i: [] for i in device_ids}
    if device_ids:
        for device_id, word in session.execute(
                select(DeviceLabel.device_id, DeviceLabel.label)
                .where(DeviceLabel.device_id.in_(sorted(device_ids))).order_by(DeviceLabel.label)):
            found[device_id].append(word)
    return found


def reservation_labels(session: Session,
                       reservation_ids: Collection[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {i: [] for i in reservation_ids}
    if reservation_ids:
        for reservation_id, word in session.execute(
                select(ReservationLabel.reservation_id, ReservationLabel.label)
                .where(ReservationLabel.reservation_id.in_(sorted(reservation_ids)))
                .order_by(ReservationLabel.label)):
            found[reservation_id].append(word)
    return found


def pool_labels(session: Session,
                keys: Sequence[tuple[int, str]]) -> dict[tuple[int, str], list[str]]:
    found: dict[tuple[int, str], list[str]] = {key: [] for key in keys}
    if keys:
        for va_id, tag, word in session.execute(
                select(LicenseLabel.va_id, LicenseLabel.tag, LicenseLabel.label)
                .where(pairs_in(LicenseLabel.va_id, LicenseLabel.tag, keys))
                .order_by(LicenseLabel.label)):
            if (va_id, tag) in found:
                found[(va_id, tag)].append(word)
    return found

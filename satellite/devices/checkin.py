"""The usage report: record what a device consumes and answer, per tag, whether it may."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Table, bindparam, case, func, select, update
from sqlalchemy.orm import Session

from satellite.audit.service import record
from satellite.config import Settings
from satellite.db import UTCDateTime
from satellite.devices.messages import (
    AUTHORIZED,
    NOT_AUTHORIZED,
    OUT_OF_COMPLIANCE,
    SignedMessage,
    format_time,
)
from satellite.devices.models import AUTHORIZED as DEVICE_AUTHORIZED
from satellite.devices.models import OUT_OF_COMPLIANCE as DEVICE_OUT_OF_COMPLIANCE
from satellite.devices.models import Device
from satellite.devices.registration import device_actor
from satellite.devices.upstream import log_usage
from satellite.devices.verification import DeviceSession
from satellite.errors import InvalidInput
from satellite.licenses.counters import va_counters
from satellite.licenses.models import LicenseLine
from satellite.licenses.usage import owner_usage, set_usage
from satellite.uow import UnitOfWork

MAX_TAGS = 500


def parse_usage(body: Mapping[str, Any]) -> dict[str, int]:
    usage = body.get("usage")
    if not isinstance(usage, dict):
        raise InvalidInput("usage must be an object mapping entitlement tags to counts")
    if len(usage) > MAX_TAGS:
        raise InvalidInput(f"a usage report names at most {MAX_TAGS} tags")
    for tag, count in usage.items():
        if not tag or len(tag) > 255:
            raise InvalidInput("an entitlement tag is 1 to 255 characters")
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise InvalidInput(f"the count of {tag!r} must be a whole number, 0 or more")
    return usage


# The hot path's own statements are built once per process (see verification.py).


@cache
def _tag_facts_query() -> Any:
    return (select(LicenseLine.tag, func.max(case((LicenseLine.export_controlled, 1), else_=0)))
            .where(LicenseLine.va_id == bindparam("va_id"),
                   LicenseLine.tag.in_(bindparam("tags", expanding=True)))
            .group_by(LicenseLine.tag))


@cache
def _touch_statement() -> Any:
    table = Device.__table__
    assert isinstance(table, Table)
    return (update(table).where(table.c.id == bindparam("device_id"))
            .values(status=bindparam("status"),
                    last_contact_at=bindparam("now", type_=UTCDateTime()),
                    authorization_expires_at=bindparam("expires", type_=UTCDateTime())))


def _tag_facts(session: Session, va_id: int, tags: list[str]) -> dict[str, bool]:
    """Tags the VA has lines for, each with whether it is export-controlled."""
    if not tags:
        return {}
    rows = session.connection().execute(_tag_facts_query(), {"va_id": va_id, "tags": tags})
    return {tag: bool(flag) for tag, flag in rows}


def _refusal(tag: str, facts: Mapping[str, bool], device: DeviceSession) -> str | None:
    if tag not in facts:
        return "the virtual account has no license for this tag"
    if facts[tag] and not device.export_controlled:
        return "export-controlled: the device's registration token does not allow it"
    return None


def report_usage(uow: UnitOfWork, settings: Settings, device: DeviceSession,
                 message: SignedMessage) -> dict[str, Any]:
    """Make this report the device's consumption and answer with each tag's authorization.

    Tags the device may not use (unknown in its VA, or export-controlled without permission)
    are NOT_AUTHORIZED and consume nothing. Returns the answer to sign.
    """
    session, now = uow.session, uow.clock.now()
    usage = parse_usage(message.body)
    tags = sorted(usage)
    facts = _tag_facts(session, device.va_id, tags)
    refusals = {tag: why for tag in tags if (why := _refusal(tag, facts, device))}
    allowed = [tag for tag in tags if tag not in refusals]
    owner = f"device:{device.id}"
    consumption = {(device.va_id, tag): usage[tag] for tag in allowed if usage[tag]}
    # Most reports repeat the last one: reading it back is cheaper than rewriting it.
    previous = owner_usage(session, owner, "in_use")
    if previous != consumption:
        set_usage(session, owner, "in_use", consumption)
        changed = {tag for (_va, tag) in previous.keys() | consumption.keys()}
        log_usage(session, device.id,
                  {tag: consumption.get((device.va_id, tag), 0) for tag in changed}, now)
    counters = va_counters(session, device.va_id, now.date(), allowed) if allowed else {}
    answers: list[dict[str, Any]] = []
    for tag in tags:
        entry: dict[str, Any] = {"tag": tag, "count": usage[tag]}
        if tag in refusals:
            entry.update(status=NOT_AUTHORIZED, reason=refusals[tag])
        else:
            c = counters[tag]
            entry["status"] = AUTHORIZED if c.available >= 0 else OUT_OF_COMPLIANCE
            entry.update(quantity=c.quantity, inUse=c.in_use, available=c.available)
        answers.append(entry)
    compliant = all(a["status"] == AUTHORIZED for a in answers)
    status = DEVICE_AUTHORIZED if compliant else DEVICE_OUT_OF_COMPLIANCE
    expires = now + timedelta(days=settings.authorization_valid_days)
    _touch(uow, device, status, now, expires)
    return {
        "type": "authorization", "deviceId": device.id, "requestNonce": message.nonce,
        "timestamp": format_time(now), "status": AUTHORIZED if compliant else OUT_OF_COMPLIANCE,
        "tags": answers, "authorizationExpiresAt": format_time(expires),
        "nextCallAt": format_time(now + timedelta(days=settings.authorization_renew_days)),
        "certificateExpiresAt": format_time(device.certificate_expires_at),
    }


def _touch(uow: UnitOfWork, device: DeviceSession, status: str, now: datetime,
           expires: datetime) -> None:
    # Core UPDATE: the hot path loads no ORM object for the device.
    uow.session.connection().execute(
        _touch_statement(),
        {"device_id": device.id, "status": status, "now": now, "expires": expires})
    if status != device.status:
        # Only transitions are audited: a steady stream of identical reports is not news.
        record(uow, device_actor(device.id), "device.status",
               f"device:{device.id}", account_id=device.account_id,
               details={"before": device.status, "after": status})

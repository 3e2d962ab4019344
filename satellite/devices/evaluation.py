"""The evaluation period: 90 days in which a device may use what it holds no license for.

As in Smart Licensing, every device has 90 days of evaluation from its first use of a
feature before it is licensed. On the satellite the clock starts the first time it sees a
device use a tag its VA holds no license for while the device is not registered through the
device protocol (a SLUP device: its usage files arrive before the VA's licenses do). While the
period runs, that use is the device's evaluation: it consumes no license and does not make
the device Out Of Compliance. Once the period is over ("evaluation expired") the use counts as
unlicensed use, Out Of Compliance. A license arriving for every tag the device uses, or a
registration, ends evaluation mode; the start is remembered and never reset, so a device
gets its 90 days once. The device's agent keeps its own clock (satellite.agent.evaluation).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, true

from satellite.clock import utc_text
from satellite.devices.messages import MessageError, parse_time
from satellite.devices.models import Device
from satellite.errors import InvalidInput

EVALUATION_DAYS = 90
# A device's claim of when its evaluation began is refused before this.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
PERIOD = timedelta(days=EVALUATION_DAYS)
# States a device's evaluation is shown in; the first two are what the list filter takes.
ACTIVE, EXPIRED, ENDED = "in evaluation", "evaluation expired", "evaluation ended"
FILTERS = {"active": ACTIVE, "expired": EXPIRED}


def ends_at(started_at: datetime) -> datetime:
    return started_at + PERIOD


def days_left(started_at: datetime, now: datetime) -> int:
    """Whole days left, rounded up (a period that has not ended has at least 1 day left)."""
    left = (ends_at(started_at) - now).total_seconds() / 86400
    return max(0, math.ceil(left))


@dataclass(frozen=True)
class Review:
    """What a device's usage means for its evaluation now."""

    started_at: datetime | None
    in_evaluation: bool
    # The unlicensed use is covered by a running evaluation: it consumes nothing and is
    # not Out Of Compliance.
    excused: bool


def review(started_at: datetime | None, unlicensed: bool, now: datetime) -> Review:
    """The evaluation of a device that does (or does not) use a tag its VA has no license for."""
    if not unlicensed:
        return Review(started_at, False, False)
    started = started_at or now
    return Review(started, True, now < ends_at(started))


def at_registration(device: Device, claimed: object, now: datetime) -> None:
    """Registration ends evaluation mode; a device that used features before (its agent's
    `evaluationStartedAt`) has that start remembered, if none was known. Raises InvalidInput."""
    device.in_evaluation = False
    if claimed is None or device.evaluation_started_at is not None:
        return
    try:
        started = parse_time(claimed, "evaluationStartedAt")
    except MessageError as exc:
        raise InvalidInput(str(exc), field="evaluationStartedAt") from None
    if started < EARLIEST:
        raise InvalidInput(f"evaluationStartedAt {claimed!r} cannot be true",
                           field="evaluationStartedAt")
    device.evaluation_started_at = min(started, now)


def view(started_at: datetime | None, in_evaluation: bool, now: datetime) -> dict[str, Any] | None:
    """A device's evaluation as lists, pages and the API show it (None: never in evaluation)."""
    if started_at is None:
        return None
    left = days_left(started_at, now)
    state = ENDED if not in_evaluation else ACTIVE if left > 0 else EXPIRED
    return {"state": state, "startedAt": utc_text(started_at),
            "endsAt": utc_text(ends_at(started_at)),
            "daysLeft": left if state == ACTIVE else 0,
            "daysUsed": min(EVALUATION_DAYS, (now - started_at).days)
            if state != ENDED else None,
            "text": text(state, left)}


def text(state: str, left: int) -> str:
    if state == ACTIVE:
        return f"in evaluation, {left} day{'s' if left != 1 else ''} left"
    return state


def condition(which: str, now: datetime) -> ColumnElement[bool]:
    """Devices in evaluation ("active") or whose evaluation expired ("expired"), as SQL."""
    if which not in FILTERS:
        raise InvalidInput(f"evaluation filter {which!r} is not one of "
                           f"{', '.join(FILTERS)}", field="evaluation")
    since = now - PERIOD
    started = Device.evaluation_started_at
    return and_(Device.in_evaluation == true(),
                started > since if which == "active" else started <= since)

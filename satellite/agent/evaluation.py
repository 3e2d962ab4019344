"""The device's own evaluation clock: 90 days of use before registration, kept in its state.

The clock starts at the first use while the device is not registered, runs while it stays
unregistered, and stops at registration: the days used are remembered, so deregistering
resumes the clock where it stopped (the period is never given again), as in Smart Licensing.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import Any

from satellite.devices.messages import format_time, parse_time

EVALUATION_DAYS = 90
PERIOD = timedelta(days=EVALUATION_DAYS)
KEY = "evaluation"
EVALUATION, EVALUATION_EXPIRED = "EVALUATION", "EVALUATION_EXPIRED"


def _used(clock: dict[str, Any], now: datetime) -> timedelta:
    used = timedelta(seconds=float(clock.get("usedSeconds", 0)))
    since = clock.get("runningSince")
    if since:
        used += max(now - parse_time(since, "runningSince"), timedelta(0))
    return used


def start(data: dict[str, Any], now: datetime) -> dict[str, Any]:
    """The clock once the unregistered device uses a feature: running from now if stopped."""
    clock = dict(data.get(KEY) or {})
    clock.setdefault("startedAt", format_time(now))
    clock.setdefault("usedSeconds", 0.0)
    if not clock.get("runningSince"):
        clock["runningSince"] = format_time(now)
    return clock


def stop(data: dict[str, Any], now: datetime) -> dict[str, Any] | None:
    """The clock at registration: stopped, the days used kept (None if it never started)."""
    clock = data.get(KEY)
    if not clock:
        return None
    return {**clock, "usedSeconds": _used(clock, now).total_seconds(), "runningSince": None}


def days_left(data: dict[str, Any], now: datetime) -> int | None:
    """Whole days of evaluation left (None: the clock never started)."""
    clock = data.get(KEY)
    if not clock:
        return None
    left = (PERIOD - _used(clock, now)).total_seconds() / 86400
    return max(0, math.ceil(left))


def describe(data: dict[str, Any], registered: bool, now: datetime) -> str:
    """What `satellite-agent status` says of the evaluation."""
    left = days_left(data, now)
    if registered:
        if left is None:
            return "registered (evaluation never used)"
        return (f"registered (evaluation ended; {EVALUATION_DAYS - left} of {EVALUATION_DAYS} "
                "days used)")
    if left is None:
        return f"not started ({EVALUATION_DAYS} days from the first use before registration)"
    if left == 0:
        return "evaluation expired"
    return f"evaluation, {left} day{'s' if left != 1 else ''} left"

"""Server-rendered SVG charts: geometry computed here, drawn by the templates (no script)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from satellite.licenses.counters import AccountCounter
from satellite.licenses.usage_history import TagHistory

ROW_HEIGHT = 28
PLOT_WIDTH = 600


@dataclass(frozen=True)
class Segment:
    kind: str  # "in-use", "reserved", "available", "over"
    x: float
    width: float
    value: int


@dataclass(frozen=True)
class Bar:
    label: str
    y: int
    segments: tuple[Segment, ...]
    summary: str


@dataclass(frozen=True)
class BarChart:
    width: int
    height: int
    bars: tuple[Bar, ...]


def usage_bars(rows: Sequence[AccountCounter]) -> BarChart:
    """One bar per VA and tag: in use, reserved and free against the pool; use beyond the
    quantity is drawn past the pool's end as "over"."""
    scale_to = max([max(r.counter.quantity, r.counter.in_use + r.counter.reserved)
                    for r in rows] or [1]) or 1
    unit = PLOT_WIDTH / scale_to
    bars = []
    for i, row in enumerate(rows):
        c = row.counter
        used = c.in_use + c.reserved
        parts = []
        x = 0.0
        for kind, value in (("in-use", min(c.in_use, c.quantity)),
                            ("reserved", max(0, min(c.reserved, c.quantity - c.in_use))),
                            ("available", max(0, c.available)),
                            ("over", max(0, used - c.quantity))):
            if value:
                parts.append(Segment(kind, round(x, 2), round(value * unit, 2), value))
                x += value * unit
        summary = (f"{row.virtual_account} / {c.tag}: {c.in_use} in use, {c.reserved} reserved "
                   f"of {c.quantity} ({c.status})")
        bars.append(Bar(f"{row.virtual_account} · {c.tag}", i * (ROW_HEIGHT + 14) + 14,
                        tuple(parts), summary))
    return BarChart(PLOT_WIDTH, max(1, len(bars)) * (ROW_HEIGHT + 14), tuple(bars))


# Consumption over time: one small chart per tag, used (in use + reserved) against the pool.
HISTORY_WIDTH, HISTORY_HEIGHT = 600, 150
_LEFT, _RIGHT, _TOP, _BOTTOM = 44, 8, 8, 20


@dataclass(frozen=True)
class HistoryChart:
    tag: str
    width: int
    height: int
    used: str  # SVG polyline points
    quantity: str  # SVG polyline points, drawn as steps
    last: tuple[float, float] | None  # where the newest "used" value is, marked by a dot
    top: int  # the value at the top of the plot
    ticks: tuple[tuple[float, str, str], ...]  # x position, date label, text-anchor
    summary: str
    rows: tuple[tuple[str, int, int, int], ...]  # per day (last value): date, qty, in use, res.


def _days(since: datetime, until: datetime) -> list[datetime]:
    """Midnights between the two, at most about seven of them, evenly spaced."""
    step = timedelta(days=max(1, math.ceil((until - since).days / 6)))
    at = since.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    found = []
    while at <= until:
        found.append(at)
        at += step
    return found


def _anchor(x: float) -> str:
    """Labels near an edge are aligned to it, so they are not cut off."""
    if x > HISTORY_WIDTH - _RIGHT - 24:
        return "end"
    return "start" if x < _LEFT + 24 else "middle"


def history_charts(histories: Sequence[TagHistory], since: datetime,
                   until: datetime) -> list[HistoryChart]:
    """Geometry for each tag's history between `since` and `until` (with a table per day)."""
    span = max((until - since).total_seconds(), 1.0)
    plot_w = HISTORY_WIDTH - _LEFT - _RIGHT
    plot_h = HISTORY_HEIGHT - _TOP - _BOTTOM
    charts = []
    for history in histories:
        points = history.points
        top = max([max(p.quantity, p.used) for p in points] or [1]) or 1

        def x(at: datetime) -> float:
            return round(_LEFT + plot_w * (at - since).total_seconds() / span, 1)

        def y(value: int, top: int = top) -> float:
            return round(_TOP + plot_h * (1 - value / top), 1)

        used = " ".join(f"{x(p.at)},{y(p.used)}" for p in points)
        steps = []
        for i, p in enumerate(points):
            if i:
                steps.append(f"{x(p.at)},{y(points[i - 1].quantity)}")
            steps.append(f"{x(p.at)},{y(p.quantity)}")
        ticks = tuple((x(at), f"{at:%b %d}", _anchor(x(at))) for at in _days(since, until))
        days: dict[str, tuple[str, int, int, int]] = {}
        for p in points:
            day = f"{p.at:%Y-%m-%d}"
            days[day] = (day, p.quantity, p.in_use, p.reserved)
        summary = (f"{history.tag}: no snapshots in this period" if not points else
                   f"{history.tag}: {points[-1].used} used of {points[-1].quantity} at the end, "
                   f"highest use {max(p.used for p in points)}, over {len(days)} days")
        last = (x(points[-1].at), y(points[-1].used)) if points else None
        charts.append(HistoryChart(history.tag, HISTORY_WIDTH, HISTORY_HEIGHT, used,
                                   " ".join(steps), last, top, ticks, summary,
                                   tuple(reversed(days.values()))))
    return charts

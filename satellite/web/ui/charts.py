"""Server-rendered SVG charts: geometry computed here, drawn by the templates (no script)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from satellite.licenses.counters import AccountCounter

BAR_HEIGHT = 18
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

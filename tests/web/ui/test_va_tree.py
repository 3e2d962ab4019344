"""The VA tree page's layout: the levels that fit, in folder order, with what each last shown
VA holds, the same as walking the whole tree would give."""

from __future__ import annotations

from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from satellite.accounts.service import VaEntry
from satellite.web.ui.accounts import _tree


def _walked(vas: list[VaEntry], limit: int) -> list[tuple[str, int, int]]:
    """The rule read plainly: walk every VA, then keep the levels that fit."""
    ids = {va.id for va in vas}
    children: dict[int | None, list[VaEntry]] = {}
    for va in vas:
        children.setdefault(va.parent_id if va.parent_id in ids else None, []).append(va)
    ordered: list[tuple[VaEntry, int]] = []
    below: dict[int, int] = {}

    def walk(parent: int | None, depth: int) -> int:
        count = 0
        for va in sorted(children.get(parent, []), key=lambda v: (not v.is_default, v.name)):
            ordered.append((va, depth))
            below[va.id] = walk(va.id, depth + 1)
            count += 1 + below[va.id]
        return count

    walk(None, 0)
    per_depth = Counter(depth for _va, depth in ordered)
    shown_depth, shown = 0, 0
    for depth in sorted(per_depth):
        if depth > 0 and shown + per_depth[depth] > limit:
            break
        shown_depth, shown = depth, shown + per_depth[depth]
    return [(va.name, depth, below[va.id] if depth == shown_depth else 0)
            for va, depth in ordered if depth <= shown_depth][:limit]


@st.composite
def forests(draw: st.DrawFn) -> list[VaEntry]:
    """VAs with parents among the earlier ones (or none, or one the viewer cannot see)."""
    count = draw(st.integers(0, 60))
    vas = []
    for n in range(1, count + 1):
        parent = draw(st.none() | st.integers(1, n - 1) | st.just(10_000)) if n > 1 else None
        vas.append(VaEntry(n, draw(st.sampled_from("abcde")) + str(n), parent, n == 1, ""))
    return vas


@settings(max_examples=300, deadline=None)
@given(forests(), st.integers(1, 40))
def test_the_tree_shows_what_walking_every_va_shows(vas: list[VaEntry], limit: int) -> None:
    rows, not_shown = _tree(vas, limit)
    assert [(r.va.name, r.depth, r.hidden) for r in rows] == _walked(vas, limit)
    assert not_shown == len(vas) - len(rows)

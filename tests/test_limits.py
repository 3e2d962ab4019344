"""load_json refuses exactly what the walk of the parsed value refuses, whatever shortcut it
takes for text that cannot break the bounds."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from satellite.errors import InvalidInput
from satellite.limits import check_tree, load_json

DEPTH = 4
_TEXT = st.text(st.characters(codec=None, exclude_categories=()), max_size=6) | st.sampled_from(
    ["\x00", "\ud800", "a\udfffb", "é", "\u2028", "x" * 20])
_NUMBERS = st.integers(-(2**70), 2**70) | st.floats(allow_nan=False, allow_infinity=False)
_VALUES = st.recursive(
    st.none() | st.booleans() | _NUMBERS | _TEXT,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_TEXT, inner, max_size=3),
    max_leaves=12)


def _walked(raw: bytes | str) -> Any:
    """The reference: parse, then walk every value."""
    value = json.loads(raw)
    check_tree(value, "x", DEPTH)
    return value


@settings(max_examples=400, deadline=None)
@given(_VALUES, st.booleans(), st.sampled_from(["str", "utf-8", "utf-16"]))
def test_load_json_agrees_with_the_walk_of_every_value(value: Any, ascii_only: bool,
                                                       form: str) -> None:
    text = json.dumps(value, ensure_ascii=ascii_only)
    try:
        raw: bytes | str = text if form == "str" else text.encode(form, "surrogatepass")
    except UnicodeEncodeError:
        return
    try:
        expected: Any = _walked(raw)
    except InvalidInput:
        expected = InvalidInput
    try:
        got: Any = load_json(raw, "x", DEPTH)
    except InvalidInput:
        got = InvalidInput
    assert (got is InvalidInput) == (expected is InvalidInput)
    if got is not InvalidInput:
        assert json.dumps(got) == json.dumps(expected)

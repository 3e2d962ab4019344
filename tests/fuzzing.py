"""Hostile JSON for the fuzz tests, and how many examples they run.

The suite stays fast with a modest number of examples per test; `HYPOTHESIS_PROFILE=long`
runs 25 times as many (with fresh random examples), `SATELLITE_FUZZ_EXAMPLES=N` exactly N.
"""

from __future__ import annotations

import json
import os
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

LONG = os.environ.get("HYPOTHESIS_PROFILE", "") == "long"


def fuzz_settings(examples: int) -> settings:
    """Hypothesis settings for `examples` examples in the default run (see module doc)."""
    chosen = int(os.environ.get("SATELLITE_FUZZ_EXAMPLES", "0")) or examples * (25 if LONG else 1)
    return settings(max_examples=chosen, deadline=None, database=None, derandomize=not LONG,
                    suppress_health_check=list(HealthCheck))


# Text a parser may choke on: controls, separators, lone surrogates, NUL, non-ASCII.
hostile_text = st.text(alphabet=st.one_of(
    st.characters(codec=None, categories=["Cc", "Cs", "Zl", "Zp", "Cf"]),
    st.characters(min_codepoint=32, max_codepoint=126), st.sampled_from("é€😀\u202e:,")),
    max_size=80) | st.sampled_from(["", " ", "x" * 5000, "\x00", "\ud800", "a\r\nb"])
hostile_numbers = st.one_of(
    st.integers(min_value=-(10**40), max_value=10**40),
    st.sampled_from([0, -1, 2**31 - 1, 2**31, 2**63 - 1, 2**63, 2**64, 10**30, -(2**63) - 1]),
    st.floats(allow_nan=False, allow_infinity=False), st.sampled_from([1e308, -1e308, 5e-324]))
scalars = st.one_of(st.none(), st.booleans(), hostile_numbers, hostile_text)
hostile_values: st.SearchStrategy[Any] = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(hostile_text, inner, max_size=4), max_leaves=12)


def deep(depth: int, opener: str = "[") -> bytes:
    closer = {"[": "]", "{": "}"}[opener]
    if opener == "{":
        return (b'{"a":' * depth) + b"1" + b"}" * depth
    return (opener * depth + closer * depth).encode()


def _encode(value: Any) -> bytes:
    # ASCII JSON: lone surrogates travel as \\ud800 escapes, as an attacker would send them.
    return json.dumps(value).encode()


# A request body: hostile JSON values (objects mostly), deep nesting, odd literals, raw bytes.
hostile_bodies = st.one_of(
    st.dictionaries(hostile_text, hostile_values, max_size=6).map(_encode),
    hostile_values.map(_encode),
    st.integers(min_value=1, max_value=40_000).map(deep),
    st.integers(min_value=1, max_value=3_000).map(lambda n: deep(n, "{")),
    st.sampled_from([b"NaN", b"Infinity", b'{"a": -Infinity}', b"1e400", b'{"a":1e999}',
                     b"[" + b"9" * 5000 + b"]", b'"\\ud800"', b'{"\\u0000": 1}', b"\xff\xfe",
                     b"", b"{", b"null"]),
    st.binary(max_size=200))

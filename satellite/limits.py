"""Bounds on what comes in, checked before anything else reads it, the same on every engine.

JSON from any edge (HTTP bodies, device messages, bundle headers and records, backup manifests)
is read by `load_json`: at most MAX_JSON_DEPTH levels, whole numbers within 64 bits, finite
numbers only, text without NUL or lone surrogates. Identifiers and free text are checked by
`check_text`, whole numbers by `check_int`. Whatever is refused raises InvalidInput naming the
field, so every adapter answers 400 (or one CLI line) and nothing is written; SQLite and
PostgreSQL never see a value one of them would store and the other refuse.

`printable` is the other side: text shown on a console or in a log line has its control
characters escaped, so no value can forge a line.

Dependency-free apart from satellite.errors. The limits are listed in docs/input-limits.md.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from satellite.errors import InvalidInput

MAX_JSON_DEPTH = 32
# Whole numbers a database column may hold on both engines (PostgreSQL INTEGER, BIGINT).
INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1
# Free text people write (descriptions, notes, reasons): line breaks allowed.
MAX_NOTE = 1000
# Names, identifiers, tags and one-line text: no control characters, no line breaks.
_ONE_LINE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")
# Free text that may span lines (descriptions, reasons): tab and line breaks allowed.
_MULTI_LINE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
# What `printable` escapes: every control character, line and paragraph separators, surrogates.
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\ud800-\udfff]")


def quoted(value: object, limit: int = 40) -> str:
    """A value as an error message may quote it: repr (control characters escaped), cut short."""
    if isinstance(value, str) and len(value) > limit:
        return repr(value[:limit]) + "..."
    text = repr(value)
    return text if len(text) <= limit + 10 else text[:limit] + "..."


def check_text(value: object, field: str, limit: int, *, required: bool = True,
               lines: bool = False) -> str:
    """`value` unchanged if it is text of at most `limit` characters (at least one if required)
    without control characters (tab and line breaks allowed when `lines`), NUL or lone
    surrogates. Raises InvalidInput naming `field`."""
    if value is None or value == "":
        if required:
            raise InvalidInput(f"{field} is required", field=field)
        return ""
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be text", field=field)
    if len(value) > limit:
        raise InvalidInput(f"{field} is longer than {limit} characters", field=field)
    bad = (_MULTI_LINE if lines else _ONE_LINE).search(value)
    if bad is not None:
        what = "a lone surrogate" if "\ud800" <= bad.group() <= "\udfff" else \
            f"the control character U+{ord(bad.group()):04X}"
        raise InvalidInput(f"{field} holds {what}, which is not allowed here", field=field)
    return value


def check_int(value: object, field: str, low: int = 0, high: int = INT32_MAX) -> int:
    """`value` if it is a whole number (not a boolean) from `low` to `high`.
    Raises InvalidInput naming `field`."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InvalidInput(f"{field} must be a whole number from {low:,} to {high:,}, "
                           f"not {quoted(value)}", field=field)
    return value


def _constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number JSON allows")


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"the number {text[:20]} is out of range")
    return value


def load_json(raw: bytes | str, what: str = "the request body",
              max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Parse JSON with the bounds above. Raises InvalidInput naming `what` and, when the
    problem is inside an object, the top-level field it is under."""
    try:
        value = json.loads(raw, parse_constant=_constant, parse_float=_float)
    except RecursionError:
        raise InvalidInput(f"{what} is nested more than {max_depth} levels deep") from None
    except UnicodeDecodeError:
        raise InvalidInput(f"{what} is not UTF-8") from None
    except ValueError as exc:
        # json's own message says where (line, column); a number's says which.
        detail = str(exc).split(": line")[0] if "line" in str(exc) else str(exc)
        raise InvalidInput(f"{what} is not valid JSON ({detail[:80]})") from None
    if _may_break_bounds(raw, max_depth):
        check_tree(value, what, max_depth)
    return value


# What check_tree refuses can only come from an escape (backslash-u: NUL, a lone surrogate),
# a surrogate the bytes carry (UTF-8 0xED 0xA0-0xBF, which json decodes with surrogatepass),
# a run of 19 digits (a whole number of 64 bits or more) or more brackets than levels allowed.
_SUSPECT_BYTES = re.compile(rb"\\u|\xed[\xa0-\xbf]|[0-9]{19}")
_SUSPECT_TEXT = re.compile(r"\\u|[\ud800-\udfff]|[0-9]{19}")


def _may_break_bounds(raw: bytes | str, max_depth: int) -> bool:
    """False when the raw JSON cannot hold what check_tree refuses, so that most records are
    checked with two scans of their text instead of a walk of their values."""
    if isinstance(raw, bytes):
        if json.detect_encoding(raw) != "utf-8":
            return True
        suspect = _SUSPECT_BYTES.search(raw) is not None
        brackets = raw.count(b"{") + raw.count(b"[")
    else:
        suspect = _SUSPECT_TEXT.search(raw) is not None
        brackets = raw.count("{") + raw.count("[")
    return suspect or brackets > max_depth


def check_tree(value: Any, what: str, max_depth: int = MAX_JSON_DEPTH) -> None:
    """Depth, whole numbers and text of an already parsed JSON value (see load_json)."""
    stack: list[tuple[Any, int, str | None]] = [(value, 1, None)]
    while stack:
        item, depth, top = stack.pop()
        if isinstance(item, dict | list):
            if depth > max_depth:
                raise InvalidInput(f"{what} is nested more than {max_depth} levels deep",
                                   field=top)
            if isinstance(item, dict):
                for key, child in item.items():
                    _check_string(key, what, top or key)
                    stack.append((child, depth + 1, top or key))
            else:
                stack.extend((child, depth + 1, top) for child in item)
        elif isinstance(item, str):
            _check_string(item, what, top)
        elif isinstance(item, int) and not isinstance(item, bool) \
                and not -INT64_MAX - 1 <= item <= INT64_MAX:
            raise InvalidInput(f"{what} holds a whole number beyond 64 bits"
                               + (f" in {quoted(top)}" if top else ""), field=top)


def _check_string(text: str, what: str, top: str | None) -> None:
    bad = _MULTI_LINE.search(text)
    if bad is not None and (bad.group() == "\x00" or "\ud800" <= bad.group() <= "\udfff"):
        kind = "NUL" if bad.group() == "\x00" else "a lone surrogate"
        raise InvalidInput(f"{what} holds text with {kind}"
                           + (f" in {quoted(top)}" if top else ""), field=top)


def printable(text: str) -> str:
    """`text` with control characters, line separators and lone surrogates escaped
    (`\\n`, `\\x1b`, `\\ud800`), for a console line or a log record."""
    if _UNPRINTABLE.search(text) is None:
        return text
    return _UNPRINTABLE.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)

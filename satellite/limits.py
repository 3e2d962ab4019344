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


# One decoder for every call (json.loads would build one per call for these options).
_DECODER = json.JSONDecoder(parse_constant=_constant, parse_float=_float)


def load_json(raw: bytes | str, what: str = "the request body",
              max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Parse JSON with the bounds above. Raises InvalidInput naming `what` and, when the
    problem is inside an object, the top-level field it is under."""
    try:
        # UTF-8 bytes decoded here as json would, without asking it to guess the encoding.
        text = raw.decode("utf-8", "surrogatepass") if isinstance(raw, bytes) \
            and _utf8(raw) else raw
        value = json.loads(text, parse_constant=_constant, parse_float=_float) \
            if isinstance(text, bytes) else _DECODER.decode(text)
    except RecursionError:
        raise InvalidInput(f"{what} is nested more than {max_depth} levels deep") from None
    except UnicodeDecodeError:
        raise InvalidInput(f"{what} is not UTF-8") from None
    except ValueError as exc:
        # json's own message says where (line, column); a number's says which.
        detail = str(exc).split(": line")[0] if "line" in str(exc) else str(exc)
        raise InvalidInput(f"{what} is not valid JSON ({detail[:80]})") from None
    if not isinstance(text, str) or _may_break_bounds(text, max_depth):
        check_tree(value, what, max_depth)
    return value


# What check_tree refuses can only come from an escape (backslash-u: NUL, a lone surrogate),
# a surrogate (which UTF-8 bytes may carry: they are decoded with surrogatepass, as json does),
# a run of 19 digits (a whole number of 64 bits or more) or more brackets than levels allowed.
_SURROGATE = re.compile(r"[\ud800-\udfff]")
_LONG_NUMBER = re.compile(r"[0-9]{19}")


def _utf8(raw: bytes) -> bool:
    """Whether json.detect_encoding would say UTF-8 (no byte order mark, no NUL among the
    first four bytes: UTF-16 and UTF-32 have one); other bytes are left to json."""
    return not raw.startswith((b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")) \
        and b"\x00" not in raw[:4]


def _may_break_bounds(text: str, max_depth: int) -> bool:
    """False when the JSON text cannot hold what check_tree refuses, so that most values are
    checked with a scan of their text instead of a walk of their tree."""
    return ("\\u" in text or text.count("{") + text.count("[") > max_depth
            or (not text.isascii() and _SURROGATE.search(text) is not None)
            or _LONG_NUMBER.search(text) is not None)


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

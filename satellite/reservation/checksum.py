"""Human-transcribable reservation codes: alphabet, grouping and a position-naming checksum.

A code is a type letter followed by a payload in Crockford base32 and six check characters,
shown in groups of five joined by '-'. The check characters hold two sums modulo the prime
P = 32749 over the character values: S0 = sum(v_i) and S1 = sum(i * v_i). A single changed
character at position j changes S0 by e (0 < |e| < 32, never 0 mod P) and S1 by j * e, so
the position is S1'/S0' mod P. The format is specified in docs/reservation-codes.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from satellite.errors import VerificationFailed

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_VALUE = {c: i for i, c in enumerate(ALPHABET)}
# Crockford's reading of look-alikes: a typed I/L means 1 and a typed O means 0.
_VALUE.update({"I": 1, "L": 1, "O": 0})
PRIME = 32749
CHECK_WIDTH = 3  # characters per sum: 15 bits hold any value below PRIME
GROUP = 5
SEPARATORS = frozenset("- \t\r\n")

NAMES = {"R": "request", "A": "authorization", "C": "confirmation", "X": "return"}


class CodeError(VerificationFailed):
    """A code that cannot be read: wrong type, bad character, mistyped character."""

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.position = position


def _where(position: int) -> str:
    group, index = divmod(position - 1, GROUP)
    return f"position {position} (group {group + 1}, character {index + 1})"


def to_base32(data: bytes) -> str:
    """Big-endian bits, five at a time; the last character is padded with zero bits."""
    bits = int.from_bytes(data, "big") if data else 0
    nbits = len(data) * 8
    chars = -(-nbits // 5)
    bits <<= chars * 5 - nbits
    return "".join(ALPHABET[(bits >> (5 * (chars - 1 - i))) & 31] for i in range(chars))


def from_base32(values: list[int]) -> bytes:
    nbytes = len(values) * 5 // 8
    bits = 0
    for v in values:
        bits = (bits << 5) | v
    pad = len(values) * 5 - nbytes * 8
    if bits & ((1 << pad) - 1):
        raise CodeError("the code's last character is not one the format can produce")
    return (bits >> pad).to_bytes(nbytes, "big")


def _sums(values: list[int]) -> tuple[int, int]:
    s0 = sum(values) % PRIME
    s1 = sum(i * v for i, v in enumerate(values, start=1)) % PRIME
    return s0, s1


def _digits(value: int) -> list[int]:
    return [(value >> (5 * (CHECK_WIDTH - 1 - k))) & 31 for k in range(CHECK_WIDTH)]


def _check_values(values: list[int]) -> list[int]:
    s0, s1 = _sums(values)
    return _digits(s0) + _digits(s1)


def group(code: str) -> str:
    return "-".join(code[i:i + GROUP] for i in range(0, len(code), GROUP))


def make(letter: str, payload: bytes) -> str:
    """The grouped code for a type letter and payload."""
    body = letter + to_base32(payload)
    values = [_VALUE[c] for c in body]
    return group(body + "".join(ALPHABET[v] for v in _check_values(values)))


@dataclass(frozen=True)
class Parsed:
    letter: str
    payload: bytes


def _values(text: str, what: str) -> list[int]:
    values: list[int] = []
    for c in text:
        if c in SEPARATORS:
            continue
        v = _VALUE.get(c.upper())
        if v is None:
            position = len(values) + 1
            raise CodeError(f"the {what} code has {c!r} at {_where(position)}, which is not a code "
                            f"character (digits and letters except U)", position)
        values.append(v)
    return values


def locate_error(values: list[int]) -> int | None:
    """None when the check characters match; else the 1-based position of a single error.

    Raises CodeError when more than one character is wrong.
    """
    n = len(values) - 2 * CHECK_WIDTH
    data, stored = values[:n], values[n:]
    expected = _check_values(data)
    if stored == expected:
        return None
    s0, s1 = _sums(data)
    got0 = sum(v << (5 * (CHECK_WIDTH - 1 - k)) for k, v in enumerate(stored[:CHECK_WIDTH]))
    got1 = sum(v << (5 * (CHECK_WIDTH - 1 - k)) for k, v in enumerate(stored[CHECK_WIDTH:]))
    diff = [i for i in range(2 * CHECK_WIDTH) if stored[i] != expected[i]]
    if (got0 == s0) != (got1 == s1) and len(diff) == 1:
        return n + diff[0] + 1  # one check character changed, the data is intact
    d0, d1 = (s0 - got0) % PRIME, (s1 - got1) % PRIME
    if d0 and d1:
        j = d1 * pow(d0, -1, PRIME) % PRIME
        e = d0 if d0 < 32 else d0 - PRIME
        if 1 <= j <= n and 0 <= values[j - 1] - e < 32:
            return j
    raise CodeError("the code has more than one wrong character; copy it again")


def parse(text: str, letter: str) -> Parsed:
    """Read a code of one type. Raises CodeError naming the position of a mistyped character."""
    what = NAMES[letter]
    values = _values(text, what)
    if len(values) < 2 + 2 * CHECK_WIDTH:
        raise CodeError(f"the {what} code is too short: it is incomplete")
    if len(values) - 2 * CHECK_WIDTH >= PRIME:
        raise CodeError(f"the {what} code is too long")
    position = locate_error(values)
    if position is not None:
        raise CodeError(f"the {what} code has a mistyped character at {_where(position)}", position)
    first = ALPHABET[values[0]]
    if first != letter:
        kind = NAMES.get(first)
        raise CodeError(f"this is {'a ' + kind if kind else 'not a reservation'} code, "
                        f"not a {what} code")
    return Parsed(letter, from_base32(values[1:len(values) - 2 * CHECK_WIDTH]))


def normalise(text: str) -> str:
    """The canonical grouped spelling of a code typed in any case or grouping."""
    return group("".join(ALPHABET[v] for v in _values(text, "reservation")))

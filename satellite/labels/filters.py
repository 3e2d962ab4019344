"""The words a tag may be, and the conditions that narrow a list to items carrying tags.

Each condition is an IN over a tag's index, so a list filtered by a rare tag reads only the
items that carry it, however large the account.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, select, tuple_

from satellite.devices.models import Device
from satellite.errors import InvalidInput
from satellite.labels.models import DeviceLabel, LicenseLabel, ReservationLabel
from satellite.licenses.models import UsageTotal
from satellite.limits import quoted
from satellite.reservation.models import Reservation

MAX_LABEL = 64
MAX_LABELS = 20
# A list is narrowed by at most this many tags at once (an item must carry all of them).
MAX_FILTER = 5
# Lower case letters and digits, then also . _ : / + -: safe in a URL, a shell and a CSV cell.
_WORD = re.compile(r"[a-z0-9][a-z0-9._:/+-]*")


def label(word: object, field: str = "tag") -> str:
    """A tag as stored: trimmed and lower case. Raises InvalidInput for anything else than a
    word of letters, digits and . _ : / + - (first a letter or a digit), 1 to 64 long."""
    if not isinstance(word, str):
        raise InvalidInput(f"{field} must be text", field=field)
    text = word.strip().lower()
    if not text or len(text) > MAX_LABEL or not _WORD.fullmatch(text):
        raise InvalidInput(
            f"{field} {quoted(word)} is not a tag: 1 to {MAX_LABEL} letters, digits or "
            ". _ : / + -, starting with a letter or a digit", field=field)
    return text


def labels(words: Iterable[object], field: str = "tag", *, most: int = MAX_LABELS) -> list[str]:
    """Distinct tags in the order given (see `label`); at most `most` of them."""
    found: list[str] = []
    for word in words:
        text = label(word, field)
        if text not in found:
            found.append(text)
            if len(found) > most:
                raise InvalidInput(f"at most {most} tags at once", field=field)
    return found


def wanted(words: Sequence[str] | None) -> list[str]:
    """A list filter's tags (none: no filter). Raises InvalidInput."""
    return labels(words or (), most=MAX_FILTER)


def devices_with(tags: Sequence[str]) -> list[ColumnElement[bool]]:
    return [Device.id.in_(select(DeviceLabel.device_id).where(DeviceLabel.label == tag))
            for tag in tags]


def reservations_with(tags: Sequence[str]) -> list[ColumnElement[bool]]:
    return [Reservation.id.in_(select(ReservationLabel.reservation_id)
                               .where(ReservationLabel.label == tag)) for tag in tags]


def pools_with(tags: Sequence[str]) -> list[Any]:
    return [tuple_(UsageTotal.va_id, UsageTotal.tag).in_(
        select(LicenseLabel.va_id, LicenseLabel.tag).where(LicenseLabel.label == tag))
        for tag in tags]

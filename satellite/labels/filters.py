"""The words a tag may be, and the conditions that narrow a list to items carrying tags.

Each condition is an IN over a tag's index, so a list filtered by a rare tag reads only the
items that carry it, however large the account.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, and_, case, func, select, tuple_
from sqlalchemy.orm import Session

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


# Up to this many devices carrying a tag, a list reads them by id; beyond, it walks the
# devices in UDI order (a tag that common fills a page soon). Reading a device by id costs
# about what walking forty index entries does (measured on SQLite at 200,000 devices).
FEW = 5_000


def tagged_devices(session: Session, scope: Sequence[Any],
                   tags: Sequence[str]) -> list[Any]:
    """A device list's conditions `scope`, narrowed to the devices carrying every tag.

    One bounded count per tag (its index alone) says how common it is. Led by the rarest: a
    list of a rare tag reads its devices by id, while the account's conditions only filter
    (wrapped so that no engine walks the account's million devices looking for a few); a
    common tag leaves the plan as without it.
    """
    if not tags:
        return list(scope)
    counts = {tag: session.scalar(select(func.count()).select_from(
        select(DeviceLabel.device_id).where(DeviceLabel.label == tag).limit(FEW + 1)
        .subquery())) or 0 for tag in tags}
    rarest = min(tags, key=lambda tag: (counts[tag], tag))
    if counts[rarest] > FEW:
        return [*scope, *devices_with(tags)]
    kept = [case((and_(*scope), 1), else_=0) == 1] if scope else []
    return [*devices_with([rarest]), *devices_with([t for t in tags if t != rarest]), *kept]


def reservations_with(tags: Sequence[str]) -> list[ColumnElement[bool]]:
    return [Reservation.id.in_(select(ReservationLabel.reservation_id)
                               .where(ReservationLabel.label == tag)) for tag in tags]


def pools_with(tags: Sequence[str]) -> list[Any]:
    return [tuple_(UsageTotal.va_id, UsageTotal.tag).in_(
        select(LicenseLabel.va_id, LicenseLabel.tag).where(LicenseLabel.label == tag))
        for tag in tags]

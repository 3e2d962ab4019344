"""The words a tag may be, and the conditions that narrow a list to items carrying tags.

A device list reads whichever is shorter, its own index or its rarest tag's (which holds each
device's account and UDI, so that a page is read in the list's order), probing the rest; a
license list reads a rare tag's pools from the tag's index and probes a common one's pools.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, exists, false, func, select, tuple_
from sqlalchemy.orm import Session, aliased

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


def typed(text: str | None) -> list[str]:
    """Tags as typed in one box or query value: separated by spaces or commas."""
    return (text or "").replace(",", " ").split()


def wanted(words: Sequence[str] | None) -> list[str]:
    """A list filter's tags (none: no filter). Raises InvalidInput."""
    return labels(words or (), most=MAX_FILTER)


def _carrying(device_id: Any, tags: Sequence[str]) -> list[ColumnElement[bool]]:
    """Conditions: the device `device_id` carries each tag (one probe of the tag table's key
    per device and tag)."""
    found: list[ColumnElement[bool]] = []
    for tag in tags:
        carried = aliased(DeviceLabel)
        found.append(exists().where(carried.device_id == device_id, carried.label == tag))
    return found


# A list of at most this many devices is walked whole, probing each device's tags; a tag
# carried by at most this many devices of a list without an account is read by id.
# Reading a device by id costs about what walking forty index entries does (measured on
# SQLite at 200,000 devices).
FEW = 5_000


@dataclass(frozen=True)
class TaggedDevices:
    """A device list narrowed to the devices carrying every tag asked: `where`, the
    conditions of its pages, in the order of `udi` (its PID and serial columns);
    `matching`, the query of their ids, for counting them, unless `count` already says how
    many there are."""

    where: list[Any]
    matching: Select[Any]
    udi: tuple[Any, Any] = (Device.pid, Device.serial)
    count: int | None = None


def tagged_devices(session: Session, scope: Sequence[Any], tags: Sequence[str],
                   account_id: int | None = None,
                   others: Sequence[Any] | None = None) -> TaggedDevices:
    """A device list's conditions `scope`, narrowed to the devices carrying every tag.

    `account_id`: the list's account, if it has one; `others`: the conditions of `scope`
    besides the account's own (all of them when not given). Whatever the tags and the list,
    no statement walks far:
    - a list of at most FEW devices, or of fewer devices than its account's rarest tag, is
      walked in UDI order, probing each device's tags;
    - otherwise a list of one account reads its rarest tag's index, which holds each
      device's account and UDI: its pages in their order, its count from the index alone, the
      other tags and conditions only filtering (on SQLite, which keeps no statistics, wrapped
      so that it walks no other index instead);
    - a list of every account (SQLite) reads the devices carrying the rarest tag; up to FEW
      of them it is those ids, sorted; beyond, its pages walk the devices in UDI order and
      probe the tags (at least one device in every few hundred matches), and its count
      reads the tag's index. PostgreSQL's planner, with statistics, chooses for such a list.
    """
    if not tags:
        return TaggedDevices(list(scope), select(Device.id).where(*scope))
    probed = [*scope, *_carrying(Device.id, tags)]
    walked = TaggedDevices(probed, select(Device.id).where(*probed))
    sqlite = session.get_bind().dialect.name == "sqlite"
    if account_id is not None and others is not None and not others:
        # The whole account: every device carrying a tag of it is in the list.
        rarest = tags[0] if len(tags) == 1 else _rarest(session, tags, account_id)[0]
        return _led(tags, rarest, account_id, [], sqlite)
    size = (_bounded_count(session, select(Device.id).where(*scope), 10 * FEW) if scope
            else None)
    if size is not None and size <= FEW:
        return walked
    if account_id is not None:
        rarest, carried = _rarest(session, tags, account_id)
        if size is not None and size < carried:
            return walked
        return _led(tags, rarest, account_id, list(scope if others is None else others),
                    sqlite)
    if not sqlite:
        return walked
    rarest = tags[0] if len(tags) == 1 else _rarest(session, tags)[0]
    driven = (select(DeviceLabel.device_id)
              .join(Device, Device.id == DeviceLabel.device_id)
              .where(DeviceLabel.label == rarest,
                     *_carrying(DeviceLabel.device_id, [t for t in tags if t != rarest]),
                     *_filtering(scope, sqlite)))
    ids = list(session.scalars(driven.limit(FEW + 1)))
    if len(ids) > FEW:
        return TaggedDevices(probed, driven)
    chosen = [Device.id.in_(ids)] if ids else [false()]
    return TaggedDevices(chosen, select(Device.id).where(*chosen), count=len(ids))


def _led(tags: Sequence[str], rarest: str, account_id: int, others: list[Any],
         sqlite: bool) -> TaggedDevices:
    """An account's list read through its rarest tag's index (see tagged_devices)."""
    lead = aliased(DeviceLabel)
    led = [lead.label == rarest, lead.account_id == account_id,
           *_carrying(lead.device_id, [t for t in tags if t != rarest])]
    kept = _filtering(others, sqlite)
    matching = select(lead.device_id).where(*led)
    if kept:
        matching = matching.where(Device.id == lead.device_id, *kept)
    return TaggedDevices([Device.id == lead.device_id, *led, *kept], matching,
                         udi=(lead.pid, lead.serial))


def _rarest(session: Session, tags: Sequence[str],
            account_id: int | None = None) -> tuple[str, int]:
    """The tag fewest devices carry (of the account), and how many do, as far as it matters:
    counted up to ten times FEW, from the tag's index."""
    counts = {tag: _bounded_count(session, select(DeviceLabel.label).where(
        DeviceLabel.label == tag,
        *([DeviceLabel.account_id == account_id] if account_id is not None else [])),
        10 * FEW) for tag in tags}
    rarest = min(tags, key=lambda tag: (counts[tag], tag))
    return rarest, counts[rarest]


def _filtering(conditions: Sequence[Any], sqlite: bool) -> list[Any]:
    """`conditions` as filters only: on SQLite wrapped, so that no index of theirs leads."""
    if not conditions:
        return []
    return [case((and_(*conditions), 1), else_=0) == 1] if sqlite else list(conditions)


def _bounded_count(session: Session, query: Select[*tuple[Any, ...]],
                   bound: int = FEW) -> int:
    """How many rows `query` gives, counting no further than `bound` + 1."""
    return session.scalar(select(func.count()).select_from(
        query.limit(bound + 1).subquery())) or 0


def reservations_with(tags: Sequence[str]) -> list[ColumnElement[bool]]:
    return [Reservation.id.in_(select(ReservationLabel.reservation_id)
                               .where(ReservationLabel.label == tag)) for tag in tags]


def pools_with(session: Session, tags: Sequence[str]) -> list[ColumnElement[bool]]:
    """Conditions: the license pool carries each tag. A tag on at most FEW pools is read from
    its index (the list then reads those pools only); a commoner one is probed pool by pool
    as the list is walked."""
    found: list[ColumnElement[bool]] = []
    for tag in tags:
        tagged = select(LicenseLabel.va_id, LicenseLabel.tag).where(LicenseLabel.label == tag)
        if _bounded_count(session, tagged) <= FEW:
            found.append(tuple_(UsageTotal.va_id, UsageTotal.tag).in_(tagged))
        else:
            carried = aliased(LicenseLabel)
            found.append(exists().where(carried.va_id == UsageTotal.va_id,
                                        carried.tag == UsageTotal.tag, carried.label == tag))
    return found

"""Adding, removing and reading the tags of one license pool, product instance or reservation.

Who may see an item may read its tags; who may change the item (transfer licenses, manage
devices, manage reservations) may change them. Every change is audited in the item's account.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from satellite.accounts.models import Account
from satellite.accounts.service import va_for
from satellite.actor import Actor
from satellite.audit.service import record
from satellite.devices.registration import udi_label
from satellite.devices.service import checked_device, udi_parts
from satellite.errors import Conflict, InvalidInput, NotFound
from satellite.labels.devices import placed
from satellite.labels.filters import MAX_LABELS, labels
from satellite.labels.models import DeviceLabel, LicenseLabel, ReservationLabel
from satellite.licenses.models import LicenseLine
from satellite.permissions.policy import require
from satellite.reservation import service as reservations
from satellite.uow import UnitOfWork

KINDS = ("license", "device", "reservation")


@dataclass(frozen=True)
class Item:
    """What carries tags: a license pool (account, VA and entitlement tag), or a device or a
    reservation (by UDI; for a reservation, the UDI's open one, else its latest), in
    `account` when one is named (an item of another account is not found)."""

    kind: str
    udi: str = ""
    account: str = ""
    va: str = ""
    license: str = ""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise InvalidInput(f"tags go on a {', a '.join(KINDS)}, not {self.kind!r}")
        if self.kind == "license" and not (self.account and self.va and self.license):
            raise InvalidInput("a license is named by its account, virtual account and tag")
        if self.kind != "license" and not self.udi:
            raise InvalidInput(f"a {self.kind} is named by its UDI (PID:<pid>,SN:<serial>)")


@dataclass(frozen=True)
class _Found:
    target: str
    account_id: int
    table: Any
    key: dict[str, Any]
    # What a new tag row carries besides the key and its word.
    carried: dict[str, Any] = field(default_factory=dict)


def _in_account(item: Item, account: Account) -> None:
    if item.account and item.account not in (account.name, account.domain):
        raise NotFound(f"account {item.account!r} has no {item.kind} {item.udi}")


def _find(session: Session, actor: Actor, item: Item, change: bool) -> _Found:
    if item.kind == "device":
        device, account, _va = checked_device(session, actor, item.udi,
                                              "device.manage" if change else "device.view")
        _in_account(item, account)
        return _Found(f"device:{udi_label(device.pid, device.serial)}", account.id, DeviceLabel,
                      {"device_id": device.id}, placed(device))
    if item.kind == "reservation":
        # Reservations write a UDI PID:SN; the long form devices use is taken too.
        parts = udi_parts(item.udi)
        reservation = reservations.show(session, actor,
                                        f"{parts[0]}:{parts[1]}" if parts else item.udi)
        holder = session.get(Account, reservation.account_id)
        assert holder is not None
        _in_account(item, holder)
        if change:
            require(session, actor, "reservation.manage", account_id=reservation.account_id,
                    va_id=reservation.va_id)
        return _Found(f"reservation:{udi_label(reservation.pid, reservation.serial_number)}",
                      reservation.account_id, ReservationLabel,
                      {"reservation_id": reservation.id})
    account, va = va_for(session, actor, item.account, item.va,
                         "license.transfer" if change else "license.view")
    if session.scalar(select(LicenseLine.id).where(
            LicenseLine.va_id == va.id, LicenseLine.tag == item.license).limit(1)) is None:
        raise NotFound(f"virtual account {va.name!r} of account {account.name!r} has no "
                       f"license {item.license!r}", field="license")
    return _Found(f"license:{account.domain}/{va.name}/{item.license}", account.id,
                  LicenseLabel, {"va_id": va.id, "tag": item.license})


def _current(session: Session, found: _Found) -> list[str]:
    table = found.table
    return list(session.scalars(
        select(table.label).where(*(getattr(table, k) == v for k, v in found.key.items()))
        .order_by(table.label)))


def item_labels(session: Session, actor: Actor, item: Item) -> list[str]:
    """The item's tags, in order. Raises NotFound (also for an item the actor may not see)."""
    return _current(session, _find(session, actor, item, change=False))


def add_labels(uow: UnitOfWork, actor: Actor, item: Item, words: Iterable[object]) -> list[str]:
    """Put tags on the item (those it has already stay); returns all its tags.

    Raises InvalidInput (a bad word, more than 20 on the item), NotFound, PermissionDenied,
    Conflict (another writer tagged it at the same moment).
    """
    wanted = labels(words)
    if not wanted:
        raise InvalidInput("name at least one tag to add")
    session = uow.session
    found = _find(session, actor, item, change=True)
    have = _current(session, found)
    new = [word for word in wanted if word not in have]
    if len(have) + len(new) > MAX_LABELS:
        raise InvalidInput(f"{found.target} has {len(have)} tags; it may carry at most "
                           f"{MAX_LABELS}", field="tag")
    if new:
        try:
            with session.begin_nested():
                session.add_all(found.table(**{**found.carried, **found.key}, label=word)
                                for word in new)
        except IntegrityError:
            raise Conflict(f"the tags of {found.target} changed meanwhile; try again") from None
        record(uow, actor, f"{item.kind}.tag", found.target, account_id=found.account_id,
               details={"added": new})
    return sorted(have + new)


def remove_labels(uow: UnitOfWork, actor: Actor, item: Item,
                  words: Iterable[object]) -> list[str]:
    """Take tags off the item (one it does not carry is ignored); returns the tags left."""
    unwanted = labels(words)
    if not unwanted:
        raise InvalidInput("name at least one tag to remove")
    session = uow.session
    found = _find(session, actor, item, change=True)
    have = _current(session, found)
    gone = [word for word in unwanted if word in have]
    if gone:
        table = found.table
        session.execute(delete(table).where(
            *(getattr(table, k) == v for k, v in found.key.items()), table.label.in_(gone)))
        record(uow, actor, f"{item.kind}.untag", found.target, account_id=found.account_id,
               details={"removed": gone})
    return [word for word in have if word not in gone]

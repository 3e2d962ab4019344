"""Consumption: the only code that writes LicenseUsage rows and their UsageTotal sums.

Devices report what they use (`in_use`) and reservations hold what they reserve
(`reserved`); both go through `set_usage`, which keeps UsageTotal exact in the same
transaction, also when many writers meet on one pool on PostgreSQL.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Mapping
from functools import cache
from typing import Any

from sqlalchemy import Select, bindparam, insert, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from satellite.db import bind_list, in_chunks, list_params
from satellite.errors import InvalidInput
from satellite.licenses import compliance
from satellite.licenses.models import USAGE_KINDS, LicenseUsage, UsageTotal

UsageKey = tuple[int, str]
"""(va_id, tag)"""


@cache
def _owners_usage_statement(count: int) -> Select[str, int, str, int]:
    # Read on every device check-in: built once per process (and count), values bound.
    return (select(LicenseUsage.owner, LicenseUsage.va_id, LicenseUsage.tag, LicenseUsage.quantity)
            .where(LicenseUsage.owner.in_(bind_list("owner", count)),
                   LicenseUsage.kind == bindparam("kind")))


def owners_usage(session: Session, owners: Collection[str],
                 kind: str) -> dict[str, dict[UsageKey, int]]:
    """What each owner consumes of one kind, by (va_id, tag), in one query per IN_LIST_CHUNK
    owners (every owner listed)."""
    _check_kind(kind)
    found: dict[str, dict[UsageKey, int]] = {owner: {} for owner in owners}
    for names in in_chunks(sorted(found)):
        # Padded to a power of two by repeating a name: the statement is built per length,
        # and a few lengths keep every page or batch size from filling the statement caches.
        names += names[-1:] * ((1 << (len(names) - 1).bit_length()) - len(names))
        rows = session.connection().execute(_owners_usage_statement(len(names)),
                                            {**list_params("owner", names), "kind": kind})
        for owner, va_id, tag, quantity in rows:
            found[owner][(va_id, tag)] = quantity
    return found


def owner_usage(session: Session, owner: str, kind: str) -> dict[UsageKey, int]:
    """What an owner consumes of one kind, by (va_id, tag)."""
    return owners_usage(session, [owner], kind)[owner]


# Namespace of the owner locks (two-int advisory keys, apart from the leader's 64-bit key).
_OWNER_LOCKS = 0x5A7E
_LOCK_OWNER = text("SELECT pg_advisory_xact_lock(:space, :key)")


def _owner_key(owner: str) -> int:
    return int.from_bytes(hashlib.blake2b(owner.encode(), digest_size=4).digest(), "big",
                          signed=True)


def lock_owners(session: Session, owners: Collection[str]) -> None:
    """Make this transaction the only writer of these owners' usage until it ends.

    On PostgreSQL a row lock covers only rows that exist: two first reports of one device would
    both insert its row (a unique violation), or one would miss a row the other added. Locks
    are taken in key order; a caller writing several owners takes them all here first, before
    any pool row, so that batches never wait on each other in a circle. SQLite has one writer
    already.
    """
    if not owners or session.get_bind().dialect.name != "postgresql":
        return
    keys = sorted({_owner_key(owner) for owner in owners})
    session.execute(_LOCK_OWNER, [{"space": _OWNER_LOCKS, "key": key} for key in keys])


def set_usage(session: Session, owner: str, kind: str, usage: Mapping[UsageKey, int]) -> None:
    """Replace what `owner` consumes of `kind` ("in_use" or "reserved") with `usage`.

    Keys missing from `usage` (or mapped to 0) are released. Raises InvalidInput for an
    unknown kind, an empty owner or a negative count; nothing is written then.
    """
    set_usages(session, kind, {owner: usage})


def set_usages(session: Session, kind: str,
               usages: Mapping[str, Mapping[UsageKey, int]]) -> None:
    """`set_usage` for many owners at once: one read, bulk writes and one update of the
    totals per chunk of owners."""
    _check_kind(kind)
    wanted: dict[str, dict[UsageKey, int]] = {}
    for owner, usage in usages.items():
        if not owner or len(owner) > 100:
            raise InvalidInput("a usage owner is a non-empty name of at most 100 characters")
        wanted[owner] = {key: count for key, count in usage.items()
                         if _checked_count(key, count)}
    # Two reports from one owner apply one after the other, each reading what the last wrote;
    # every owner is locked before any pool row.
    lock_owners(session, list(wanted))
    for owners in in_chunks(sorted(wanted)):
        current: dict[str, dict[UsageKey, LicenseUsage]] = {owner: {} for owner in owners}
        for row in session.scalars(
                select(LicenseUsage)
                .where(LicenseUsage.owner.in_(owners), LicenseUsage.kind == kind)
                .order_by(LicenseUsage.id)
                .with_for_update()):
            current[row.owner][(row.va_id, row.tag)] = row
        deltas: dict[UsageKey, int] = {}
        added = []
        for owner in owners:
            for key, row in current[owner].items():
                count = wanted[owner].get(key, 0)
                if count == row.quantity:
                    continue
                deltas[key] = deltas.get(key, 0) + count - row.quantity
                if count == 0:
                    session.delete(row)
                else:
                    row.quantity = count
            for key, count in wanted[owner].items():
                if key not in current[owner]:
                    deltas[key] = deltas.get(key, 0) + count
                    added.append({"owner": owner, "va_id": key[0], "tag": key[1],
                                  "kind": kind, "quantity": count})
        session.flush()
        if added:
            session.execute(insert(LicenseUsage), added)
        _add_to_totals(session, kind, deltas)


def release(session: Session, owner: str) -> None:
    """Drop everything `owner` consumes or reserves; its VAs' pools get it back."""
    for kind in USAGE_KINDS:
        set_usage(session, owner, kind, {})


def _check_kind(kind: str) -> None:
    if kind not in USAGE_KINDS:
        raise InvalidInput(f"usage kind {kind!r} is not one of {', '.join(USAGE_KINDS)}")


def _checked_count(key: UsageKey, count: int) -> bool:
    if isinstance(count, bool) or not isinstance(count, int):
        raise InvalidInput(f"usage of {key[1]!r} must be a whole number, got {count!r}")
    if count < 0:
        raise InvalidInput(f"usage of {key[1]!r} cannot be negative (got {count})")
    return count > 0


def _add_to_totals(session: Session, kind: str, deltas: Mapping[UsageKey, int]) -> None:
    """Add deltas to UsageTotal with one atomic upsert, so concurrent writers never lose counts."""
    changed = sorted((key, delta) for key, delta in deltas.items() if delta)
    if not changed:
        return
    column = UsageTotal.in_use if kind == "in_use" else UsageTotal.reserved
    other = "reserved" if kind == "in_use" else "in_use"
    values = [{"va_id": va_id, "tag": tag, column.key: delta, other: 0}
              for (va_id, tag), delta in changed]
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    stmt: Any = insert(UsageTotal).values(values)
    # Rows are sorted by key so concurrent upserts lock them in the same order (no deadlock).
    stmt = stmt.on_conflict_do_update(
        index_elements=[UsageTotal.va_id, UsageTotal.tag],
        set_={column.key: column + getattr(stmt.excluded, column.key)},
    )
    session.execute(stmt)
    compliance.pools_changed(session, [key for key, _delta in changed])

"""Applying Central's entitlement snapshot to the local license pools.

Central's line id is kept on every local piece as `origin_id`. Transfers split a line into
pieces in other VAs; whatever Central says, the pieces of one line sum to Central's quantity.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Table, bindparam, delete, insert, select, text, update
from sqlalchemy.orm import Session

from satellite.accounts.models import Account, VirtualAccount
from satellite.accounts.service import create_va
from satellite.actor import Actor
from satellite.cloudsync import held
from satellite.cloudsync.holding import HoldingIntake
from satellite.cloudsync.records import Entitlement
from satellite.db import IN_LIST_CHUNK, in_chunks
from satellite.errors import InvalidInput
from satellite.licenses.deposit_rules import Placement, Placer
from satellite.licenses.models import LicenseLine
from satellite.licenses.pools import PoolKey, lock_all_lines, refresh_pools
from satellite.uow import UnitOfWork

# The terms a piece takes from its Central line; the first two are its search texts.
_ATTRIBUTES = ("tag", "display_name", "license_type", "start_date", "end_date",
               "subscription_id", "export_controlled")
_TAG, _NAMED = 0, 2
_LINES = cast(Table, LicenseLine.__table__)
# Lines inserted (at least, and at least as many as were counted before) before PostgreSQL's
# planner is asked to count the table again.
_RECOUNT_AFTER = 5_000
_PIECES = select(LicenseLine.id, LicenseLine.origin_id, LicenseLine.va_id, LicenseLine.quantity,
                 *(getattr(LicenseLine, name) for name in _ATTRIBUTES))


@dataclass
class SnapshotReport:
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    # Lines for domains with no Active account: kept aside (satellite.cloudsync.held).
    held: int = 0
    held_accounts: set[str] = field(default_factory=set)
    created_vas: list[str] = field(default_factory=list)
    # Lines waiting in a holding account (satellite.cloudsync.holding), counted nowhere.
    in_holding: int = 0
    # What deposit rules did with lines that arrived naming no VA.
    placements: list[Placement] = field(default_factory=list)

    def summary(self) -> dict[str, object]:
        return {"added": self.added, "updated": self.updated, "unchanged": self.unchanged,
                "removed": self.removed, "held": self.held,
                "held_accounts": sorted(self.held_accounts),
                "created_virtual_accounts": self.created_vas, "in_holding": self.in_holding,
                "placed_by_rules": sum(1 for p in self.placements if p.rule is not None)}


class Targets:
    """Accounts and VAs looked up once per import (or delivery of held lines)."""

    def __init__(self, uow: UnitOfWork, actor: Actor, report: SnapshotReport) -> None:
        self.uow, self.actor, self.report = uow, actor, report
        self.accounts: dict[str, Account | None] = {}
        self.vas: dict[tuple[int, str | None], VirtualAccount] = {}
        self.rules = Placer(uow.session)
        report.placements = self.rules.placements

    def account(self, domain: str) -> Account | None:
        key = domain.strip().lower()
        if key not in self.accounts:
            self.accounts[key] = self.uow.session.scalar(
                select(Account).where(Account.domain == key))
        return self.accounts[key]

    def va(self, account: Account, entitlement: Entitlement) -> VirtualAccount:
        if entitlement.va is None:
            placed = self.rules.place(account, entitlement.line_id, entitlement.tag,
                                      entitlement.display_name)
            if placed is not None:
                return placed
        key = (account.id, entitlement.va)
        if key in self.vas:
            return self.vas[key]
        session = self.uow.session
        query = select(VirtualAccount).where(VirtualAccount.account_id == account.id)
        if entitlement.va is None:
            found = session.scalar(query.where(VirtualAccount.is_default.is_(True)))
        else:
            found = session.scalar(query.where(VirtualAccount.name == entitlement.va))
        if found is None:
            assert entitlement.va is not None, "every account has a Default VA"
            try:
                found = create_va(self.uow, self.actor, account.domain, entitlement.va,
                                  description="Named by Central")
            except InvalidInput as exc:
                raise InvalidInput(
                    f"entitlement line {entitlement.line_id}: {exc.message}") from None
            self.report.created_vas.append(f"{account.domain}/{entitlement.va}")
        self.vas[key] = found
        return found


def apply_entitlements(uow: UnitOfWork, actor: Actor,
                       entitlements: Iterable[Entitlement]) -> SnapshotReport:
    """Make the local pools match a complete snapshot, inside the caller's transaction.

    Lines for domains with no Active account are held (satellite.cloudsync.held); lines of a
    holding account wait in the holding table (satellite.cloudsync.holding); lines naming no VA
    go where the account's deposit rules say when they first arrive; local lines whose origin is
    no longer listed, or is now held, are removed. Raises InvalidInput for a line listed twice
    or a VA name it cannot use.

    Each line's account and VA are decided here, line by line; the pieces are read, written
    and their pools refreshed a batch of lines at a time (see LineBatch).
    """
    session = uow.session
    # The snapshot may touch any pool: no transfer may run beside it on a partial view.
    lock_all_lines(session)
    report = SnapshotReport()
    targets = Targets(uow, actor, report)
    holding = held.Holding(uow)
    intake = HoldingIntake(uow)
    batch = LineBatch(session, report)
    seen: set[str] = set()
    for entitlement in entitlements:
        if entitlement.line_id in seen:
            raise InvalidInput(f"entitlement line {entitlement.line_id} is listed twice")
        seen.add(entitlement.line_id)
        if intake.take(entitlement):
            report.in_holding += 1
            continue
        account = targets.account(entitlement.account)
        if held.holds(account):
            holding.hold(entitlement)
            continue
        assert account is not None
        batch.add(entitlement, targets.va(account, entitlement))
    batch.finish()
    holding.finish()
    intake.finish()
    report.held, report.held_accounts = len(holding.line_ids), holding.domains
    report.removed = _remove_unlisted(session, seen - holding.line_ids)
    targets.rules.forget_gone()
    return report


@dataclass
class _Piece:
    """One local piece of a Central line, as read and as the snapshot wants it."""

    id: int
    va_id: int
    quantity: int
    terms: tuple[Any, ...]  # the values of _ATTRIBUTES
    read_quantity: int = field(init=False)
    read_terms: tuple[Any, ...] = field(init=False)

    def __post_init__(self) -> None:
        self.read_quantity, self.read_terms = self.quantity, self.terms


class LineBatch:
    """Lines reconciled IN_LIST_CHUNK at a time: their pieces read in one query, the pieces
    added, changed and removed written in one statement each, and the pools they touch
    refreshed once at the end (pools.refresh_pools, which notes them for compliance)."""

    def __init__(self, session: Session, report: SnapshotReport) -> None:
        self.session, self.report = session, report
        self.pending: list[tuple[Entitlement, int]] = []
        self.inserts: list[dict[str, Any]] = []
        self.updates: list[dict[str, Any]] = []
        self.deletes: list[int] = []
        self.keys: set[PoolKey] = set()
        self.tags: set[str] = set()
        # Lines inserted since PostgreSQL's planner last counted the table (see _write).
        self.uncounted, self.counted = 0, 0
        # Lines are written on the connection below: no ORM copy of one may go stale.
        session.flush()
        for obj in list(session.identity_map.values()):
            if isinstance(obj, LicenseLine):
                session.expunge(obj)

    def add(self, entitlement: Entitlement, home_va: VirtualAccount) -> None:
        self.pending.append((entitlement, home_va.id))
        if len(self.pending) >= IN_LIST_CHUNK:
            self._reconcile_pending()

    def finish(self) -> None:
        self._reconcile_pending()
        refresh_pools(self.session, self.keys, tags=self.tags)

    def _reconcile_pending(self) -> None:
        if not self.pending:
            return
        pieces: dict[str, list[_Piece]] = {}
        for row in self.session.execute(
                _PIECES.where(LicenseLine.origin_id.in_([e.line_id for e, _ in self.pending]))
                .order_by(LicenseLine.id)):
            pieces.setdefault(row[1], []).append(_Piece(row[0], row[2], row[3], tuple(row[4:])))
        for entitlement, home_va in self.pending:
            outcome = _reconcile(entitlement, home_va, pieces.get(entitlement.line_id, []), self)
            setattr(self.report, outcome, getattr(self.report, outcome) + 1)
        self.pending = []
        self._write()

    def insert(self, entitlement: Entitlement, va_id: int, quantity: int) -> None:
        self.inserts.append({"va_id": va_id, "origin_id": entitlement.line_id,
                             "quantity": quantity,
                             **dict(zip(_ATTRIBUTES, _terms(entitlement), strict=True))})
        self.keys.add((va_id, entitlement.tag))
        self.tags.add(entitlement.tag)

    def settle(self, piece: _Piece) -> None:
        """Write what reconciling did to a piece: remove it at zero, else store its changes."""
        gone = piece.quantity == 0
        if not gone and (piece.quantity, piece.terms) == (piece.read_quantity, piece.read_terms):
            return
        tags = {piece.read_terms[_TAG], piece.terms[_TAG]}
        self.keys |= {(piece.va_id, tag) for tag in tags}
        # A tag's search words change only with its lines' names, not with quantities.
        if gone or piece.terms[:_NAMED] != piece.read_terms[:_NAMED]:
            self.tags |= tags
        if gone:
            self.deletes.append(piece.id)
            return
        self.updates.append({"k_id": piece.id, "quantity": piece.quantity,
                             **dict(zip(_ATTRIBUTES, piece.terms, strict=True))})

    def _write(self) -> None:
        connection = self.session.connection()
        if self.inserts:
            connection.execute(insert(_LINES), self.inserts)
        if self.updates:
            connection.execute(
                update(_LINES).where(_LINES.c.id == bindparam("k_id"))
                .values({name: bindparam(name) for name in ("quantity", *_ATTRIBUTES)}),
                self.updates)
        for ids in in_chunks(self.deletes):
            connection.execute(delete(_LINES).where(_LINES.c.id.in_(ids)))
        self.uncounted += len(self.inserts)
        self.inserts, self.updates, self.deletes = [], [], []
        # A first snapshot fills an empty table inside this transaction: PostgreSQL's planner,
        # still believing it empty, would scan all of it for every batch's pieces (quadratic:
        # minutes at 100,000 lines). Counting it again as it doubles keeps the index in use;
        # ANALYZE sees this transaction's own rows.
        if (connection.dialect.name == "postgresql"
                and self.uncounted >= max(_RECOUNT_AFTER, self.counted)):
            connection.execute(text(f"ANALYZE {_LINES.name}"))
            self.counted += self.uncounted
            self.uncounted = 0


def _terms(entitlement: Entitlement) -> tuple[Any, ...]:
    return tuple(getattr(entitlement, name) for name in _ATTRIBUTES)


def _reconcile(entitlement: Entitlement, home_va: int, pieces: list[_Piece],
               batch: LineBatch) -> str:
    """Bring one Central line's local pieces (in id order) to its quantity; returns the report
    field to count."""
    if not pieces:
        if entitlement.quantity == 0:
            return "unchanged"
        batch.insert(entitlement, home_va, entitlement.quantity)
        return "added"
    changed = False
    terms = _terms(entitlement)
    for piece in pieces:
        if piece.terms != terms:
            piece.terms = terms
            changed = True
    home = next((p for p in pieces if p.va_id == home_va), None)
    moved_away = [p for p in pieces if p is not home]
    wanted = entitlement.quantity - sum(p.quantity for p in moved_away)
    if home is None and wanted > 0:
        batch.insert(entitlement, home_va, wanted)
        changed = True
    elif home is not None and home.quantity != max(wanted, 0):
        home.quantity = max(wanted, 0)
        changed = True
    deficit = -wanted
    # The line shrank below what transfers moved away: take it back, newest pieces first.
    for piece in reversed(moved_away):
        if deficit <= 0:
            break
        taken = min(piece.quantity, deficit)
        piece.quantity -= taken
        deficit -= taken
        changed = True
    for piece in pieces:
        batch.settle(piece)
    return "updated" if changed else "unchanged"


def _remove_unlisted(session: Session, listed: set[str]) -> int:
    session.flush()
    origins = session.scalars(select(LicenseLine.origin_id).distinct())
    gone = [origin for origin in origins if origin not in listed]
    for chunk in in_chunks(gone):
        session.execute(delete(LicenseLine).where(LicenseLine.origin_id.in_(chunk)))
    return len(gone)

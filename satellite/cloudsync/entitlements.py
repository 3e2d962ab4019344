"""Applying Central's entitlement snapshot to the local license pools.

Central's line id is kept on every local piece as `origin_id`. Transfers split a line into
pieces in other VAs; whatever Central says, the pieces of one line sum to Central's quantity.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from satellite.accounts.models import Account, VirtualAccount
from satellite.accounts.service import create_va
from satellite.actor import Actor
from satellite.cloudsync import held
from satellite.cloudsync.holding import HoldingIntake
from satellite.cloudsync.records import Entitlement
from satellite.db import in_chunks
from satellite.errors import InvalidInput
from satellite.licenses.deposit_rules import Placement, Placer
from satellite.licenses.models import LicenseLine
from satellite.licenses.pools import lock_all_lines
from satellite.uow import UnitOfWork

_ATTRIBUTES = ("tag", "display_name", "license_type", "start_date", "end_date",
               "subscription_id", "export_controlled")


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


class _Targets:
    """Accounts and VAs looked up once per import."""

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
    """
    # The snapshot may touch any pool: no transfer may run beside it on a partial view.
    lock_all_lines(uow.session)
    report = SnapshotReport()
    targets = _Targets(uow, actor, report)
    holding = held.Holding(uow)
    intake = HoldingIntake(uow)
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
        outcome = _reconcile(uow.session, entitlement, targets.va(account, entitlement))
        setattr(report, outcome, getattr(report, outcome) + 1)
    holding.finish()
    intake.finish()
    report.held, report.held_accounts = len(holding.line_ids), holding.domains
    report.removed = _remove_unlisted(uow.session, seen - holding.line_ids)
    targets.rules.forget_gone()
    return report


def _reconcile(session: Session, entitlement: Entitlement, home_va: VirtualAccount) -> str:
    """Bring one Central line's local pieces to its quantity; returns the report field to count."""
    pieces = list(session.scalars(
        select(LicenseLine)
        .where(LicenseLine.origin_id == entitlement.line_id)
        .order_by(LicenseLine.id)
    ))
    if not pieces:
        if entitlement.quantity == 0:
            return "unchanged"
        session.add(_new_piece(entitlement, home_va, entitlement.quantity))
        return "added"
    changed = False
    for piece in pieces:
        for name in _ATTRIBUTES:
            if getattr(piece, name) != getattr(entitlement, name):
                setattr(piece, name, getattr(entitlement, name))
                changed = True
    home = next((p for p in pieces if p.va_id == home_va.id), None)
    moved_away = [p for p in pieces if p is not home]
    wanted = entitlement.quantity - sum(p.quantity for p in moved_away)
    if home is None and wanted > 0:
        session.add(_new_piece(entitlement, home_va, wanted))
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
        if piece.quantity == 0:
            session.delete(piece)
    return "updated" if changed else "unchanged"


def _new_piece(entitlement: Entitlement, va: VirtualAccount, quantity: int) -> LicenseLine:
    return LicenseLine(va_id=va.id, origin_id=entitlement.line_id, quantity=quantity,
                       **{name: getattr(entitlement, name) for name in _ATTRIBUTES})


def _remove_unlisted(session: Session, listed: set[str]) -> int:
    session.flush()
    origins = session.scalars(select(LicenseLine.origin_id).distinct())
    gone = [origin for origin in origins if origin not in listed]
    for chunk in in_chunks(gone):
        session.execute(delete(LicenseLine).where(LicenseLine.origin_id.in_(chunk)))
    return len(gone)

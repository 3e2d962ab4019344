"""The partner holding account: lines Central lists there wait, counting nowhere, until an
administrator deposits them into a VA of an account.

Central keeps listing a deposited line in the holding account (it learns of deposits only
through its own order desk), so the satellite keeps the deposit: each snapshot sets the line's
whole quantity, and what was deposited stays as license lines whose origin_id is the line's
id. Only the rest can be deposited. If Central lowers the quantity below what was deposited,
the newest deposited pieces give back the difference; a line Central no longer lists goes, its
deposited pieces with it, as any cancelled line. Should Central later send the line to an
account directly, the deposited pieces count as that line's pieces, never twice.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from satellite.accounts.models import Account
from satellite.accounts.service import account_for, get_va, list_accounts
from satellite.actor import Actor
from satellite.audit.service import record
from satellite.cloudsync import outbound
from satellite.cloudsync.models import HoldingLine
from satellite.cloudsync.records import Entitlement
from satellite.db import in_chunks
from satellite.errors import Conflict, NotFound, PermissionDenied, SatelliteError
from satellite.licenses.deposit_rules import place_deposit
from satellite.licenses.models import LicenseLine
from satellite.licenses.pools import lock_all_lines
from satellite.limits import check_int, check_text
from satellite.uow import UnitOfWork

DEPOSIT = "holding.deposit"
_TERMS = ("tag", "display_name", "license_type", "start_date", "end_date", "subscription_id",
          "export_controlled")


@dataclass
class HoldingIntake:
    """Takes the holding lines out of one snapshot and keeps the table in step with it."""

    uow: UnitOfWork
    kept: set[str] = field(default_factory=set)

    def take(self, entitlement: Entitlement) -> bool:
        """True (and kept here) when the line sits in a holding account."""
        if entitlement.holding is None:
            return False
        session = self.uow.session
        self.kept.add(entitlement.line_id)
        row = session.get(HoldingLine, entitlement.line_id)
        if row is None:
            row = HoldingLine(line_id=entitlement.line_id, received_at=self.uow.clock.now())
            session.add(row)
        row.holding, row.account, row.quantity = (entitlement.holding, entitlement.account,
                                                  entitlement.quantity)
        for name in _TERMS:
            setattr(row, name, getattr(entitlement, name))
        _settle_deposits(session, entitlement)
        return True

    def finish(self) -> int:
        """Drop the rows Central no longer lists in a holding account; returns how many."""
        session = self.uow.session
        session.flush()
        gone = [line for line in session.scalars(select(HoldingLine.line_id))
                if line not in self.kept]
        for chunk in in_chunks(gone):
            session.execute(delete(HoldingLine).where(HoldingLine.line_id.in_(chunk)))
        return len(gone)


def _settle_deposits(session: Session, entitlement: Entitlement) -> None:
    """Deposited pieces follow the line's terms and never sum to more than its quantity."""
    pieces = list(session.scalars(select(LicenseLine)
                                  .where(LicenseLine.origin_id == entitlement.line_id)
                                  .order_by(LicenseLine.id)))
    excess = sum(p.quantity for p in pieces) - entitlement.quantity
    for piece in reversed(pieces):
        for name in _TERMS:
            if getattr(piece, name) != getattr(entitlement, name):
                setattr(piece, name, getattr(entitlement, name))
        if excess > 0:
            taken = min(piece.quantity, excess)
            piece.quantity -= taken
            excess -= taken
        if piece.quantity == 0:
            session.delete(piece)


def _deposited(session: Session) -> dict[str, int]:
    return {origin: int(total) for origin, total in session.execute(
        select(LicenseLine.origin_id, func.sum(LicenseLine.quantity))
        .where(LicenseLine.origin_id.in_(select(HoldingLine.line_id)))
        .group_by(LicenseLine.origin_id))}


def line_json(row: HoldingLine, deposited: int) -> dict[str, Any]:
    return {"lineId": row.line_id, "holdingAccount": row.holding, "account": row.account,
            "license": row.tag, "licenseName": row.display_name,
            "licenseType": row.license_type, "quantity": row.quantity,
            "deposited": deposited, "available": max(row.quantity - deposited, 0),
            "startDate": row.start_date.isoformat() if row.start_date else None,
            "endDate": row.end_date.isoformat() if row.end_date else None,
            "subscriptionId": row.subscription_id, "exportControlled": row.export_controlled,
            "receivedAt": row.received_at.isoformat()}


def deposit_targets(session: Session, actor: Actor) -> list[Account]:
    """The accounts the actor may deposit into (administers). Raises PermissionDenied when
    there is none: the holding view is for those who can act on it."""
    targets = []
    for account in list_accounts(session, actor):
        try:
            account_for(session, actor, account.domain, DEPOSIT)
        except SatelliteError:
            continue
        targets.append(account)
    if not targets and not actor.is_system_admin:
        raise PermissionDenied("only a system administrator or an account administrator may "
                               "see the holding account")
    return targets


def list_holding(session: Session, actor: Actor) -> list[dict[str, Any]]:
    """Every line waiting in a holding account, with what is left to deposit."""
    deposit_targets(session, actor)
    deposited = _deposited(session)
    rows = session.scalars(select(HoldingLine).order_by(HoldingLine.received_at,
                                                        HoldingLine.line_id))
    return [line_json(row, deposited.get(row.line_id, 0)) for row in rows]


def deposit(uow: UnitOfWork, actor: Actor, line_id: str, account_ref: str, va_name: str,
            quantity: int | None = None) -> dict[str, Any]:
    """Move a holding line (all that is left, or `quantity` of it) into a VA.

    Raises NotFound (line, account, VA), Conflict (less left than asked), InvalidInput.
    """
    session = uow.session
    check_text(line_id, "line", 64)
    account = account_for(session, actor, account_ref, DEPOSIT)
    va = get_va(session, account, va_name)
    # As a snapshot does: no import or other deposit runs beside it on a partial view.
    lock_all_lines(session)
    row = session.get(HoldingLine, line_id, with_for_update=True)
    if row is None:
        raise NotFound(f"no line {line_id!r} waits in the holding account", field="line")
    pieces = list(session.scalars(select(LicenseLine).where(LicenseLine.origin_id == line_id)
                                  .order_by(LicenseLine.id)))
    left = row.quantity - sum(p.quantity for p in pieces)
    if left < 1:
        raise Conflict(f"line {line_id} has nothing left to deposit: all {row.quantity} are "
                       "deposited")
    wanted = left if quantity is None else check_int(quantity, "quantity", 1)
    if wanted > left:
        raise Conflict(f"line {line_id} has {left} left to deposit; cannot deposit {wanted}",
                       field="quantity")
    mine = next((p for p in pieces if p.va_id == va.id), None)
    if mine is not None:
        mine.quantity += wanted
    else:
        session.add(LicenseLine(va_id=va.id, origin_id=line_id, quantity=wanted,
                                **{name: getattr(row, name) for name in _TERMS}))
    place_deposit(session, line_id, va)
    session.flush()
    # Central learns of it with the next usage batch, as it learns of transfers.
    outbound.append(session, outbound.DEPOSIT, {
        "line_id": line_id, "holding": row.holding, "tag": row.tag, "quantity": wanted,
        "to": {"account": account.domain, "va": va.name}}, uow.clock.now())
    record(uow, actor, "holding.deposit", f"holding-line:{line_id}", account_id=account.id,
           details={"line_id": line_id, "holding": row.holding, "tag": row.tag,
                    "quantity": wanted, "to": f"{account.domain}/{va.name}",
                    "left": left - wanted})
    return {"lineId": line_id, "account": account.domain, "virtualAccount": va.name,
            "license": row.tag, "quantity": wanted, "left": left - wanted}

"""Transfers (borrowing): moving license quantity of a tag from one VA to another.

Quantity moves line by line, so every piece keeps its type, dates, subscription id,
export flag and Central's origin id. Source lines are drawn longest-lasting first:
PERPETUAL and undated lines, then TERM/DEMO lines by latest end date; ties go to the
oldest line. The VA that borrows gets the most durable fix for its shortfall, and no
piece is split more often than it must be.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from satellite.accounts.models import Account, VirtualAccount
from satellite.accounts.service import account_for, require_active, va_for
from satellite.actor import Actor
from satellite.audit.service import record
from satellite.cloudsync import outbound
from satellite.errors import Conflict, InvalidInput, NotFound
from satellite.licenses.counters import Counter, active_on, counter
from satellite.licenses.models import LicenseLine
from satellite.licenses.pools import lock_pools
from satellite.uow import UnitOfWork

_TYPE_ORDER = {"PERPETUAL": 0, "TERM": 1, "DEMO": 2}


@dataclass(frozen=True)
class Transfer:
    tag: str
    quantity: int
    # (origin_id, quantity) for each piece that moved
    pieces: tuple[tuple[str, int], ...]
    source_before: Counter
    target_before: Counter
    source_after: Counter
    target_after: Counter


def transfer(uow: UnitOfWork, actor: Actor, account_ref: str, source_va: str, target_va: str,
             tag: str, quantity: int) -> Transfer:
    """Move `quantity` of `tag` between two VAs of one account, in the caller's transaction.

    Raises InvalidInput (same VA, quantity < 1), NotFound (account, VA or tag), Conflict (the
    source has fewer free than asked as of today).
    """
    session = uow.session
    account, source = va_for(session, actor, account_ref, source_va, "license.transfer")
    target = va_for(session, actor, account.domain, target_va, "license.transfer")[1]
    require_active(account, "transfers")
    if source.id == target.id:
        raise InvalidInput(f"cannot transfer from virtual account {source.name!r} to itself",
                           field="target_va")
    done = _move(session, uow.clock.now().date(), account, source, account, target, tag, quantity)
    _audit(uow, actor, "license.transfer", account, source, account, target, done)
    return done


def transfer_between_accounts(uow: UnitOfWork, actor: Actor, source_account_ref: str,
                              source_va: str, target_account_ref: str, target_va: str,
                              tag: str, quantity: int) -> Transfer:
    """Move `quantity` of `tag` from a VA of one account to a VA of another account.

    A distinct operation because it needs rights in both accounts. Raises as `transfer`, and
    InvalidInput when both VAs are in the same account.
    """
    session = uow.session
    source_account, source = va_for(session, actor, source_account_ref, source_va,
                                    "license.transfer")
    target_account, target = va_for(session, actor, target_account_ref, target_va,
                                    "license.transfer")
    for ref in (source_account_ref, target_account_ref):
        account_for(session, actor, ref, "license.transfer_account")
    for account in (source_account, target_account):
        require_active(account, "transfers")
    if source_account.id == target_account.id:
        raise InvalidInput(f"both virtual accounts are in account {source_account.name!r}: "
                           "transfer within the account instead")
    done = _move(session, uow.clock.now().date(), source_account, source, target_account,
                 target, tag, quantity)
    _audit(uow, actor, "license.transfer_account", source_account, source, target_account,
           target, done)
    return done


def _durability(line: LicenseLine) -> tuple[int, int, int, int]:
    never_ends = line.license_type == "PERPETUAL" or line.end_date is None
    ends = 0 if never_ends or line.end_date is None else -line.end_date.toordinal()
    return (0 if never_ends else 1, ends, _TYPE_ORDER.get(line.license_type, 3), line.id)


def _move(session: Session, today: date, source_account: Account, source: VirtualAccount,
          target_account: Account, target: VirtualAccount, tag: str, quantity: int) -> Transfer:
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise InvalidInput(f"a transfer moves a whole number of licenses, at least 1 "
                           f"(got {quantity!r})", field="quantity")
    # Both pools first (key order, so concurrent transfers queue instead of deadlocking); the
    # lines read after that include every line a transfer that went before us added.
    lock_pools(session, [(source.id, tag), (target.id, tag)])
    lines = list(session.scalars(
        select(LicenseLine)
        .where(LicenseLine.va_id.in_([source.id, target.id]), LicenseLine.tag == tag)
        .order_by(LicenseLine.id)
        .with_for_update()
    ))
    source_lines = [line for line in lines if line.va_id == source.id]
    if not source_lines:
        raise NotFound(f"virtual account {source.name!r} of account {source_account.name!r} "
                       f"has no license {tag!r}", field="tag")
    before_source = counter(session, source.id, tag, today)
    before_target = counter(session, target.id, tag, today)
    if quantity > before_source.available:
        free = max(before_source.available, 0)
        raise Conflict(
            f"virtual account {source.name!r} has {free} of {tag!r} free as of {today} "
            f"(quantity {before_source.quantity}, in use {before_source.in_use}, reserved "
            f"{before_source.reserved}); cannot transfer {quantity}", field="quantity"
        )
    active_ids = set(session.scalars(
        select(LicenseLine.id).where(LicenseLine.id.in_([line.id for line in source_lines]),
                                     active_on(today))))
    target_lines = [line for line in lines if line.va_id == target.id]
    pieces: list[tuple[str, int]] = []
    left = quantity
    for line in sorted((ln for ln in source_lines if ln.id in active_ids), key=_durability):
        if left == 0:
            break
        taken = min(line.quantity, left)
        if taken <= 0:
            continue
        left -= taken
        pieces.append((line.origin_id, taken))
        _add_piece(session, line, target, target_lines, taken)
        line.quantity -= taken
        if line.quantity == 0:
            session.delete(line)
    if left:
        # The free count said yes but the active lines hold less: refuse rather than report
        # a move that did not happen (the caller's transaction rolls back).
        raise Conflict(f"virtual account {source.name!r} holds only {quantity - left} of "
                       f"{tag!r} in lines active on {today}; cannot transfer {quantity}",
                       field="quantity")
    session.flush()
    after_source = counter(session, source.id, tag, today)
    after_target = counter(session, target.id, tag, today)
    return Transfer(tag, quantity, tuple(pieces), before_source, before_target, after_source,
                    after_target)


def _add_piece(session: Session, line: LicenseLine, target: VirtualAccount,
               target_lines: list[LicenseLine], quantity: int) -> None:
    for mine in target_lines:
        if _same_piece(mine, line):
            mine.quantity += quantity
            return
    piece = LicenseLine(
        va_id=target.id, tag=line.tag, display_name=line.display_name,
        license_type=line.license_type, quantity=quantity, start_date=line.start_date,
        end_date=line.end_date, subscription_id=line.subscription_id,
        export_controlled=line.export_controlled,
        origin_id=line.origin_id,
    )
    session.add(piece)
    target_lines.append(piece)


def _same_piece(a: LicenseLine, b: LicenseLine) -> bool:
    return (a.origin_id, a.license_type, a.start_date, a.end_date, a.subscription_id,
            a.export_controlled) == (b.origin_id, b.license_type, b.start_date, b.end_date,
                                     b.subscription_id, b.export_controlled)


def _audit(uow: UnitOfWork, actor: Actor, action: str, source_account: Account,
           source: VirtualAccount, target_account: Account, target: VirtualAccount,
           done: Transfer) -> None:
    record(uow, actor, action, f"license:{done.tag}", account_id=source_account.id, details={
        "tag": done.tag,
        "quantity": done.quantity,
        "from": f"{source_account.domain}/{source.name}",
        "to": f"{target_account.domain}/{target.name}",
        "to_account_id": target_account.id,
        "pieces": [{"origin_id": origin, "quantity": n} for origin, n in done.pieces],
        "before": {"from": _summary(done.source_before), "to": _summary(done.target_before)},
        "after": {"from": _summary(done.source_after), "to": _summary(done.target_after)},
    })
    outbound.append(uow.session, outbound.TRANSFER, {
        "tag": done.tag, "quantity": done.quantity,
        "from": {"account": source_account.domain, "va": source.name},
        "to": {"account": target_account.domain, "va": target.name},
        "pieces": [{"origin_id": origin, "quantity": n} for origin, n in done.pieces]},
        uow.clock.now())


def _summary(c: Counter) -> dict[str, int]:
    return {"quantity": c.quantity, "available": c.available}

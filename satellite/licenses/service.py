"""License reads as a given actor sees them: only the VAs it holds a role on."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from satellite.accounts.models import VirtualAccount
from satellite.accounts.service import account_for
from satellite.actor import Actor
from satellite.errors import InvalidInput
from satellite.licenses.counters import CounterPage, active_on, list_counters
from satellite.licenses.models import LicenseLine
from satellite.permissions.policy import require, visible_va_ids


def list_licenses(session: Session, actor: Actor, on: date, account_ref: str | None, *,
                  va_names: Sequence[str] = (), tag: str | None = None,
                  status: str | None = None, text: str | None = None,
                  limit: int | None = 100, offset: int = 0, details: bool = True,
                  count: bool = True, tagged: Sequence[str] = ()) -> CounterPage:
    """Counters of one account (or of all, for system administrators) the actor may see.

    `details` and `count` as in counters.list_counters.
    """
    if account_ref is None:
        require(session, actor, "license.view")
        return list_counters(session, on, va_names=va_names, tag=tag, status=status, text=text,
                             limit=limit, offset=offset, details=details, count=count,
                             tagged=tagged)
    account = account_for(session, actor, account_ref, "license.view")
    return list_counters(session, on, account_id=account.id, va_names=va_names,
                         va_ids=visible_va_ids(session, actor, "license.view", account.id),
                         tag=tag, status=status, text=text, limit=limit, offset=offset,
                         details=details, count=count, tagged=tagged)


@dataclass(frozen=True)
class Subscription:
    virtual_account: str
    line: LicenseLine
    active: bool


def list_subscriptions(session: Session, actor: Actor, on: date, account_ref: str, *,
                       va_names: Sequence[str] = (), limit: int | None = 100,
                       offset: int = 0) -> tuple[int, list[Subscription]]:
    """The pool lines (one per order line and VA) of an account, as (total, page)."""
    if (limit is not None and limit < 1) or offset < 0:
        raise InvalidInput(f"a page needs limit >= 1 and offset >= 0 (got {limit}, {offset})")
    account = account_for(session, actor, account_ref, "license.view")
    query = (select(VirtualAccount.name, LicenseLine, active_on(on))
             .join(VirtualAccount, VirtualAccount.id == LicenseLine.va_id)
             .where(VirtualAccount.account_id == account.id))
    if va_names:
        query = query.where(VirtualAccount.name.in_(list(va_names)))
    visible = visible_va_ids(session, actor, "license.view", account.id)
    if visible is not None:
        query = query.where(VirtualAccount.id.in_(visible))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.execute(query.order_by(VirtualAccount.name, LicenseLine.tag, LicenseLine.id)
                           .limit(limit).offset(offset))
    return total, [Subscription(va, line, bool(active)) for va, line, active in rows]


def expiring(session: Session, actor: Actor, on: date, account_ref: str, within_days: int = 90,
             limit: int = 50) -> list[Subscription]:
    """TERM and DEMO lines of the account still active on `on` that end within `within_days`."""
    account = account_for(session, actor, account_ref, "license.view")
    query = (select(VirtualAccount.name, LicenseLine)
             .join(VirtualAccount, VirtualAccount.id == LicenseLine.va_id)
             .where(VirtualAccount.account_id == account.id, active_on(on),
                    LicenseLine.end_date.is_not(None),
                    LicenseLine.end_date <= on + timedelta(days=within_days)))
    visible = visible_va_ids(session, actor, "license.view", account.id)
    if visible is not None:
        query = query.where(VirtualAccount.id.in_(visible))
    rows = session.execute(query.order_by(LicenseLine.end_date, LicenseLine.tag).limit(limit))
    return [Subscription(va, line, True) for va, line in rows]

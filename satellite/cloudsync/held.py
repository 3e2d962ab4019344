"""Lines of Central's snapshot held for a domain with no Active account on this satellite.

A line for a domain no account answers to, or for a Pending account, is held: kept as Central
sent it and counted nowhere (no pool, no compliance). Each later snapshot replaces or removes
it like any line (a snapshot is complete). When the account is created Active or activated,
`cloudsync.delivery` puts its held lines into the pools.
"""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from satellite.accounts.models import ACTIVE, Account
from satellite.accounts.service import account_for
from satellite.actor import Actor
from satellite.cloudsync.models import HeldLine
from satellite.cloudsync.records import Entitlement
from satellite.permissions.policy import require
from satellite.uow import UnitOfWork

FIELDS = ("va", "tag", "display_name", "license_type", "quantity", "start_date", "end_date",
           "subscription_id", "export_controlled")


def holds(account: Account | None) -> bool:
    """Whether a line for this account (None: no account has its domain) is held."""
    return account is None or account.status != ACTIVE


class Holding:
    """What one snapshot holds; `finish` drops the held lines it no longer lists."""

    def __init__(self, uow: UnitOfWork) -> None:
        self.session, self.now = uow.session, uow.clock.now()
        self.line_ids: set[str] = set()
        self.domains: set[str] = set()
        self._rows: dict[str, HeldLine] | None = None

    def _held(self) -> dict[str, HeldLine]:
        # One query for all: the held lines are few beside the pools.
        if self._rows is None:
            self._rows = {row.line_id: row for row in self.session.scalars(select(HeldLine))}
        return self._rows

    def hold(self, entitlement: Entitlement) -> None:
        domain = entitlement.account.strip().lower()
        row = self._held().get(entitlement.line_id)
        if row is None:
            row = HeldLine(line_id=entitlement.line_id, held_at=self.now)
            self.session.add(row)
        row.domain = domain
        for name in FIELDS:
            setattr(row, name, getattr(entitlement, name))
        self.line_ids.add(entitlement.line_id)
        self.domains.add(domain)

    def finish(self) -> None:
        for line_id, row in self._held().items():
            if line_id not in self.line_ids:
                self.session.delete(row)


def held_lines(session: Session, actor: Actor, account_ref: str | None, limit: int | None,
               offset: int = 0) -> tuple[Account | None, list[HeldLine], int]:
    """The lines held for an account (any role on it may see them), or with None those held for
    domains no account answers to (system administrators only); and how many in all."""
    if account_ref is not None:
        account = account_for(session, actor, account_ref, "account.view")
        rows, total = held_for(session, HeldLine.domain == account.domain, limit, offset)
        return account, rows, total
    require(session, actor, "account.create")
    rows, total = held_for(session, HeldLine.domain.not_in(select(Account.domain)), limit, offset)
    return None, rows, total


def held_for(session: Session, held: ColumnElement[bool], limit: int | None,
             offset: int = 0) -> tuple[list[HeldLine], int]:
    """The held lines matching `held`, by domain and Central's line, and how many in all. The
    caller has checked who may see them."""
    total = session.scalar(select(func.count()).select_from(HeldLine).where(held)) or 0
    rows = list(session.scalars(select(HeldLine).where(held)
                                .order_by(HeldLine.domain, HeldLine.line_id)
                                .limit(limit).offset(offset)))
    return rows, total


def held_counts(session: Session, domains: Collection[str]) -> dict[str, int]:
    """How many lines are held for each of these domains (those with none left out)."""
    if not domains:
        return {}
    rows = session.execute(select(HeldLine.domain, func.count()).where(
        HeldLine.domain.in_(sorted(set(domains)))).group_by(HeldLine.domain))
    return {domain: count for domain, count in rows}


def held_json(row: HeldLine) -> dict[str, object]:
    """A held line as the CLI and the REST API show it."""
    return {"lineId": row.line_id, "domain": row.domain, "virtualAccount": row.va,
            "tag": row.tag, "displayName": row.display_name, "type": row.license_type,
            "quantity": row.quantity,
            "startDate": row.start_date.isoformat() if row.start_date else None,
            "endDate": row.end_date.isoformat() if row.end_date else None,
            "subscriptionId": row.subscription_id,
            "exportControlled": row.export_controlled,
            "heldSince": row.held_at.isoformat()}

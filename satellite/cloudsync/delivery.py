"""Delivering held lines when their account becomes Active.

Each goes into the VA it names, else the account's Default VA, through the same reconcile
code as a snapshot line (satellite.cloudsync.entitlements).
"""

from __future__ import annotations

from sqlalchemy import select

from satellite.accounts.models import Account
from satellite.actor import Actor
from satellite.audit.service import record
from satellite.cloudsync.entitlements import LineBatch, SnapshotReport, Targets
from satellite.cloudsync.held import FIELDS
from satellite.cloudsync.models import HeldLine
from satellite.cloudsync.records import Entitlement
from satellite.licenses.pools import lock_all_lines
from satellite.uow import UnitOfWork


def _entitlement(row: HeldLine) -> Entitlement:
    return Entitlement(line_id=row.line_id, account=row.domain,
                       **{name: getattr(row, name) for name in FIELDS})


def deliver(uow: UnitOfWork, actor: Actor, account: Account) -> SnapshotReport:
    """Deliver the lines held for an account now Active into its pools, and stop holding them.

    Returns what was added, and the VAs created for lines that name one the account lacks.
    """
    session = uow.session
    # Before reading what is held: a snapshot being applied meanwhile (which may still see the
    # account Pending and hold more of its lines) finishes first, and we read what it held.
    lock_all_lines(session)
    rows = list(session.scalars(select(HeldLine).where(HeldLine.domain == account.domain)
                                .order_by(HeldLine.line_id)))
    report = SnapshotReport()
    if not rows:
        return report
    # VAs the lines name are created as Central's import creates them, whoever activates.
    targets = Targets(uow, Actor.system("entitlements"), report)
    batch = LineBatch(session, report)
    for row in rows:
        entitlement = _entitlement(row)
        batch.add(entitlement, targets.va(account, entitlement))
        session.delete(row)
    batch.finish()
    session.flush()
    record(uow, actor, "account.deliver_held", f"account:{account.domain}",
           account_id=account.id,
           details={"lines": len(rows), "created_virtual_accounts": report.created_vas})
    return report

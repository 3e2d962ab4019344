"""The sync history: every export, registration request, import and network run, with its
outcome, so operators can see what crossed the air gap and when."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from satellite.actor import Actor
from satellite.cloudsync.models import SyncRun
from satellite.errors import InvalidInput
from satellite.permissions.policy import require
from satellite.uow import Database

log = logging.getLogger(__name__)
EXPORT, REGISTER, IMPORT, NETWORK = "export", "register", "import", "network"
DIRECTIONS = {EXPORT: "to Central", REGISTER: "to Central", IMPORT: "from Central",
              NETWORK: "both ways"}


def add(session: Session, actor: Actor, at: datetime, action: str, *, ok: bool = True,
        serial: int | None = None, records: int | None = None, summary: str = "",
        error: str = "") -> None:
    """Note an exchange in the transaction that made it."""
    session.add(SyncRun(at=at, action=action, serial=serial, records=records, summary=summary,
                        ok=ok, error=error[:1000], actor=actor.label[:200]))


def add_failure(db: Database, actor: Actor, action: str, error: str,
                serial: int | None = None) -> None:
    """Note a failed exchange in its own transaction (the failed one was rolled back).

    If even that cannot be written, it is logged: the caller's own error is what matters.
    """
    try:
        with db.uow() as uow:
            add(uow.session, actor, uow.clock.now(), action, ok=False, serial=serial,
                error=error)
            uow.commit()
    except SQLAlchemyError:
        log.exception("could not add the failed %s to the sync history", action)


@dataclass(frozen=True)
class SyncEntry:
    at: datetime
    action: str
    serial: int | None
    records: int | None
    summary: str
    ok: bool
    error: str
    actor: str

    @property
    def direction(self) -> str:
        return DIRECTIONS.get(self.action, "")


@dataclass(frozen=True)
class HistoryPage:
    total: int
    rows: list[SyncEntry]


def list_history(session: Session, actor: Actor, *, limit: int = 50,
                 offset: int = 0) -> HistoryPage:
    """The newest exchanges first. Appliance-wide, so for system administrators."""
    require(session, actor, "sync.view")
    if limit < 1 or offset < 0:
        raise InvalidInput(f"a page needs limit >= 1 and offset >= 0 (got {limit}, {offset})")
    total = session.scalar(select(func.count()).select_from(SyncRun)) or 0
    rows = session.scalars(select(SyncRun).order_by(SyncRun.id.desc()).limit(limit).offset(offset))
    return HistoryPage(total, [SyncEntry(r.at, r.action, r.serial, r.records, r.summary, r.ok,
                                         r.error, r.actor) for r in rows])

"""Reservations as the CLI and the REST API show them, read in a fixed number of statements."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from satellite.accounts.models import Account, VirtualAccount
from satellite.db import in_chunks
from satellite.labels.pages import reservation_labels
from satellite.reservation import service
from satellite.reservation.models import RESERVED, Reservation, ReservationLine


def _line_json(line: ReservationLine) -> dict[str, Any]:
    return {"tag": line.tag, "count": line.count, "reserved": line.held,
            "type": line.license_type,
            "start": line.start_date.isoformat() if line.start_date else None,
            "end": line.end_date.isoformat() if line.end_date else None}


def reservation_rows(session: Session, reservations: Sequence[Reservation]) -> list[dict[str, Any]]:
    """Each reservation with its account, VA and lines: three reads for the whole list."""
    ids = [r.id for r in reservations]
    lines: dict[int, list[ReservationLine]] = {}
    for chunk in in_chunks(ids):
        for line in session.scalars(select(ReservationLine).where(
                ReservationLine.reservation_id.in_(chunk)).order_by(ReservationLine.id)):
            lines.setdefault(line.reservation_id, []).append(line)
    accounts = {a.id: a.name for a in session.scalars(select(Account).where(
        Account.id.in_({r.account_id for r in reservations})))}
    vas = {va.id: va.name for va in session.scalars(select(VirtualAccount).where(
        VirtualAccount.id.in_({r.va_id for r in reservations})))}
    tags = reservation_labels(session, ids)
    return [{
        "udi": str(service.udi_of(r)), "pid": r.pid, "sn": r.serial_number, "kind": r.kind,
        "status": r.status, "account": accounts[r.account_id], "virtualAccount": vas[r.va_id],
        "serial": r.serial, "confirmedSerial": r.confirmed_serial,
        "awaitingConfirmation": r.status == RESERVED and service.awaiting_confirmation(r),
        "issuedAt": r.issued_at.isoformat(), "createdAt": r.created_at.isoformat(),
        "closedAt": r.closed_at.isoformat() if r.closed_at else None,
        "closeReason": r.close_reason or None,
        "licenses": [_line_json(line) for line in lines.get(r.id, [])],
        "tags": tags[r.id],
    } for r in reservations]


def reservation_row(session: Session, reservation: Reservation) -> dict[str, Any]:
    return reservation_rows(session, [reservation])[0]

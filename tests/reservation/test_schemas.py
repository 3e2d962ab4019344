"""Reservation lists read a fixed number of statements, however many reservations they show."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from satellite.accounts.service import create_account, create_va, find_va
from satellite.actor import Actor
from satellite.reservation.models import RESERVED, Reservation, ReservationLine
from satellite.reservation.schemas import reservation_rows
from satellite.uow import Database
from tests.statements import counting

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def _reserve(db: Database, count: int) -> None:
    with db.uow() as uow:
        for n in range(count):
            account, va = find_va(uow.session, "Acme", "Lab" if n % 2 else "Default")
            reservation = Reservation(
                account_id=account.id, va_id=va.id, pid="C9300-24T", serial_number=f"SN{n}",
                kind="SLR", status=RESERVED, request_code=f"R{n}", nonce=f"{n:016d}",
                return_commitment=f"{n:020d}", chain_index=0, chain_value=f"{n:020d}", serial=1,
                confirmed_serial=0, authorization_code="A", issued_at=NOW, created_at=NOW)
            uow.session.add(reservation)
            uow.session.flush()
            uow.session.add_all(ReservationLine(
                reservation_id=reservation.id, tag=f"regid.tag{k}", count=1, held=1,
                license_type="PERPETUAL", start_date=None, end_date=None) for k in range(3))
        uow.commit()


def test_a_list_of_many_costs_the_statements_of_a_list_of_one(db: Database, actor: Actor) -> None:
    with db.uow() as uow:
        create_account(uow, actor, "Acme", "acme.example.com")
        create_va(uow, actor, "Acme", "Lab")
        uow.commit()
    costs = []
    for count in (1, 7):
        with db.uow() as uow:
            for table in (ReservationLine, Reservation):
                uow.session.execute(table.__table__.delete())
            uow.commit()
        _reserve(db, count)
        with db.reader() as uow:
            shown = list(uow.session.scalars(select(Reservation)))
            with counting(db.engine) as statements:
                rows = reservation_rows(uow.session, shown)
            costs.append(len(statements))
        assert len(rows) == count
        assert {row["virtualAccount"] for row in rows} == ({"Default"} if count == 1 else {"Default", "Lab"})
        assert all(len(row["licenses"]) == 3 and row["account"] == "Acme" for row in rows)
    assert costs[0] == costs[1]

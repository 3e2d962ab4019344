from __future__ import annotations

from datetime import date, timedelta

import pytest

from satellite.accounts import service as accounts
from satellite.actor import Actor
from satellite.clock import FixedClock
from satellite.errors import Conflict, PermissionDenied
from satellite.licenses.counters import counter
from satellite.licenses.models import LicenseLine
from satellite.reservation import codes, jobs, service
from satellite.uow import Database
from tests.reservation.certify import certified_signer

TAG = "regid.2024-01.com.example.router-advantage"


@pytest.fixture
def lab(db: Database, actor: Actor) -> int:
    with db.uow() as uow:
        accounts.create_account(uow, actor, "Acme", "acme.example.com")
        accounts.set_reservation_mode(uow, actor, "Acme", "specific")
        va = accounts.create_va(uow, actor, "Acme", "Lab")
        uow.session.add_all([
            LicenseLine(va_id=va.id, tag=TAG, license_type="TERM", quantity=2,
                        start_date=date(2026, 1, 1), end_date=date(2026, 3, 31), origin_id="a"),
            LicenseLine(va_id=va.id, tag=TAG, license_type="TERM", quantity=2,
                        start_date=date(2026, 1, 1), end_date=date(2026, 12, 31), origin_id="b"),
        ])
        uow.commit()
        return va.id


def request(sn: str) -> str:
    return codes.RequestCode.for_device(bytes(32), codes.Udi("C9300", sn), bytes(8)).encode()


def reserved(db: Database, va_id: int) -> int:
    with db.reader() as uow:
        return counter(uow.session, va_id, TAG, uow.clock.now().date()).reserved


def test_term_lines_stop_being_reserved_on_their_end_date(db: Database, lab: int, actor: Actor,
                                                         clock: FixedClock, settings) -> None:  # type: ignore[no-untyped-def]
    with db.uow() as uow:
        issued = service.authorize(uow, actor, "Acme", "Lab", request("A1"), {TAG: 3},
                                   certified_signer(clock.now()))
        uow.commit()
    assert [(e.count, e.end) for e in issued.entitlements] == [(2, date(2026, 12, 31)),
                                                                (1, date(2026, 3, 31))]
    assert reserved(db, lab) == 3
    clock.advance(timedelta(days=30))  # 2026-03-31: still within both lines
    assert jobs.release_ended_terms(db, settings) == 0
    clock.advance(timedelta(days=1))
    assert jobs.release_ended_terms(db, settings) == 1
    assert reserved(db, lab) == 2
    assert jobs.release_ended_terms(db, settings) == 0


def test_one_open_reservation_per_udi_and_removal_is_for_system_admins(
        db: Database, lab: int, actor: Actor, clock: FixedClock) -> None:
    signer = certified_signer(clock.now())
    with db.uow() as uow:
        service.authorize(uow, actor, "Acme", "Lab", request("A1"), {TAG: 1}, signer)
        uow.commit()
    with db.uow() as uow, pytest.raises(Conflict, match="already holds a reservation"):
        service.authorize(uow, actor, "Acme", "Lab", request("A1"), {TAG: 1}, signer)
    with db.uow() as uow, pytest.raises(PermissionDenied, match="only a system administrator"):
        service.remove(uow, Actor("user", "alice", user_id=1), "C9300:A1", "RMA")
    assert reserved(db, lab) == 1

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from satellite.accounts.service import create_account, create_va
from satellite.actor import Actor
from satellite.cloudsync import outbound
from satellite.cloudsync.models import OutboundEvent
from satellite.errors import InvalidInput
from satellite.licenses.models import LicenseLine
from satellite.licenses.transfers import transfer
from satellite.uow import Database
from tests.parallel import in_parallel

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def _sequences(db: Database) -> list[int]:
    with db.reader() as uow:
        return list(uow.session.scalars(select(OutboundEvent.seq).order_by(OutboundEvent.seq)))


def test_sequences_are_dense_and_a_rolled_back_change_leaves_no_hole(db: Database) -> None:
    with db.uow() as uow:
        assert outbound.append(uow.session, outbound.USAGE, {"device": "a"}, AT) == 1
        assert outbound.append(uow.session, outbound.USAGE, {"device": "b"}, AT) == 2
        uow.commit()
    with db.uow() as uow:
        assert outbound.append(uow.session, outbound.USAGE, {"device": "c"}, AT) == 3
        # not committed: the change that caused it failed
    with db.uow() as uow:
        assert outbound.append(uow.session, outbound.USAGE, {"device": "d"}, AT) == 3
        uow.commit()
    assert _sequences(db) == [1, 2, 3]


def test_only_licensing_facts_of_plain_json_are_logged(db: Database) -> None:
    with db.uow() as uow, pytest.raises(InvalidInput, match="not a kind of fact"):
        outbound.append(uow.session, "site.network", {"subnet": "10.0.0.0/8"}, AT)
    with db.uow() as uow, pytest.raises(InvalidInput, match="plain JSON"):
        outbound.append(uow.session, outbound.USAGE, {"at": AT}, AT)
    assert _sequences(db) == []


def test_concurrent_writers_get_every_sequence_exactly_once(db: Database) -> None:
    writers, each = 4, 15

    def write(n: int) -> None:
        for i in range(each):
            with db.uow() as uow:
                outbound.append(uow.session, outbound.USAGE, {"writer": n, "i": i}, AT)
                uow.commit()

    in_parallel(write, writers)
    assert _sequences(db) == list(range(1, writers * each + 1))


def test_a_transfer_is_logged_in_its_own_transaction(db: Database, actor: Actor) -> None:
    with db.uow() as uow:
        create_account(uow, actor, "ABC", "abc.xyz.com")
        lab = create_va(uow, actor, "abc.xyz.com", "Lab")
        create_va(uow, actor, "abc.xyz.com", "Ops")
        uow.session.add(LicenseLine(va_id=lab.id, tag="regid.t", display_name="t",
                                    license_type="PERPETUAL", quantity=5, origin_id="L1"))
        uow.commit()
    with db.uow() as uow:
        transfer(uow, actor, "abc.xyz.com", "Lab", "Ops", "regid.t", 2)
        uow.commit()
    with db.reader() as uow:
        events = list(outbound.events(uow.session, 0, outbound.last_sequence(uow.session)))
    assert [(e.kind, e.data["quantity"], e.data["from"], e.data["to"]) for e in events] == [
        ("transfer", 2, {"account": "abc.xyz.com", "va": "Lab"},
         {"account": "abc.xyz.com", "va": "Ops"})]

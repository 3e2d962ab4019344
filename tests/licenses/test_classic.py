"""Classic (PAK) licenses: imported from Central, seen per account and VA, moved between VAs,
converted to pooled licenses through a sync round trip."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from sqlalchemy import select

from satellite.access.grants import add_grant
from satellite.accounts.service import create_va, find_va
from satellite.actor import Actor
from satellite.audit.models import AuditEvent
from satellite.central import classic as central_classic
from satellite.clock import FixedClock
from satellite.cloudsync.envelope import read_bundle
from satellite.cloudsync.schemas import record_text
from satellite.config import Settings
from satellite.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from satellite.licenses.classic import (
    convert_classic,
    list_classic,
    list_conversions,
    transfer_classic,
)
from satellite.licenses.classic_models import COMPLETED, PENDING, REJECTED
from satellite.licenses.models import LicenseLine
from satellite.permissions.policy import VA_USER
from satellite.uow import Database
from satellite.users.models import User
from satellite.users.service import user_actor
from tests.cloudsync.lab import Lab, make_lab

ACCOUNT = "abc.xyz.com"
SMART = "regid.2024-01.com.example.router-security"


@pytest.fixture
def lab(db: Database, settings: Settings, actor: Actor, clock: FixedClock,
        tmp_path: Path) -> Lab:
    made = make_lab(db, settings, actor, clock, tmp_path)
    with db.uow() as uow:
        create_va(uow, actor, ACCOUNT, "Plant")
        uow.commit()
    made.registered()
    return made


def _entitle(lab: Lab, pak: str = "PAK-1001", sku: str = "L-SEC-K9", quantity: int = 5,
             va: str | None = "Lab", device: str | None = None) -> None:
    central_classic.entitle_classic(lab.central_dir, lab.now(), account=ACCOUNT, pak=pak,
                                    sku=sku, quantity=quantity, tag=SMART, va=va,
                                    device=device)


def _va_user(lab: Lab, va: str) -> Actor:
    with lab.db.uow() as uow:
        user = User(username="vauser", password_hash="-", is_system_admin=False,
                    created_at=uow.clock.now())
        uow.session.add(user)
        uow.session.flush()
        account, found = find_va(uow.session, ACCOUNT, va)
        add_grant(uow, lab.actor, user, VA_USER, account, found)
        uow.commit()
        return user_actor(user)


def _classic(lab: Lab, who: Actor | None = None, va: str | None = None) -> dict[str, object]:
    with lab.db.reader() as uow:
        _, rows = list_classic(uow.session, who or lab.actor, ACCOUNT, va)
        return {f"{r.license.pak}/{r.license.sku}": (r.va, r.license.quantity,
                                                     r.license.converted, r.pending)
                for r in rows}


def _lines(lab: Lab) -> list[tuple[int, str, int, str]]:
    with lab.db.reader() as uow:
        from satellite.accounts.models import VirtualAccount
        return [(q, va, q2, sub) for q, va, q2, sub in uow.session.execute(
            select(LicenseLine.quantity, VirtualAccount.name, LicenseLine.quantity,
                   LicenseLine.subscription_id)
            .join(VirtualAccount, VirtualAccount.id == LicenseLine.va_id)
            .where(LicenseLine.tag == SMART))]


def test_classic_licenses_arrive_from_central_as_what_they_are(lab: Lab) -> None:
    _entitle(lab)
    _entitle(lab, pak="PAK-2002", sku="L-NODE", quantity=1, va=None, device="C9300:FOC1")
    report = lab.apply(lab.respond())
    assert report.classic_licenses is not None and report.classic_licenses.added == 2
    assert _classic(lab) == {"PAK-1001/L-SEC-K9": ("Lab", 5, 0, 0),
                             "PAK-2002/L-NODE": (None, 1, 0, 0)}
    with lab.db.reader() as uow:
        _, rows = list_classic(uow.session, lab.actor, ACCOUNT)
        assert {r.license.device_udi for r in rows} == {"", "C9300:FOC1"}
    # Applying the same list again changes nothing.
    again = lab.apply(lab.respond())
    assert again.classic_licenses is not None
    assert (again.classic_licenses.added, again.classic_licenses.updated) == (0, 0)


def test_operator_conversion_goes_up_and_comes_back_as_pooled_lines(lab: Lab) -> None:
    _entitle(lab)
    lab.apply(lab.respond())
    with lab.db.uow() as uow:
        done = convert_classic(uow, lab.actor, ACCOUNT, "PAK-1001", "L-SEC-K9", 3, "Plant")
        assert done.conversion.status == PENDING and done.va == "Plant"
        uow.commit()
    assert _classic(lab)["PAK-1001/L-SEC-K9"] == ("Lab", 5, 0, 3)
    with lab.db.uow() as uow, pytest.raises(Conflict, match="2 left to convert"):
        convert_classic(uow, lab.actor, ACCOUNT, "PAK-1001", "L-SEC-K9", 3)

    batch, _ = lab.export()
    with read_bundle(batch) as bundle:
        assert bundle.header.fields["classic_conversions"] == 1
        texts = [record_text(rec) for rec in bundle.records()]
    assert any("convert 3 x classic license PAK PAK-1001 SKU L-SEC-K9" in t
               and "virtual account Plant" in t for t in texts)
    ingested = lab.ingest(batch)
    assert any("completed" in note for note in ingested.notes)
    # The same batch again: the request counts once at Central.
    lab.ingest(batch)
    assert central_classic.list_classic(lab.central_dir)[0].converted == 3

    report = lab.apply(lab.respond())
    assert report.classic_licenses is not None and report.classic_licenses.completed == 1
    assert _lines(lab) == [(3, "Plant", 3, "PAK PAK-1001")]
    assert _classic(lab)["PAK-1001/L-SEC-K9"] == ("Lab", 5, 3, 0)
    with lab.db.reader() as uow:
        [view] = list_conversions(uow.session, lab.actor, ACCOUNT)
        assert view.conversion.status == COMPLETED and view.conversion.line_id
    # A completed request is not carried again.
    second, _ = lab.export()
    with read_bundle(second) as bundle:
        assert "classic_conversions" not in bundle.header.fields


def test_central_refuses_a_conversion_it_cannot_make(lab: Lab) -> None:
    _entitle(lab, quantity=2)
    lab.apply(lab.respond())
    with lab.db.uow() as uow:
        convert_classic(uow, lab.actor, ACCOUNT, "PAK-1001", "L-SEC-K9", 2)
        uow.commit()
    # Central converted some of it in the meantime (another channel).
    with central_classic.store.transaction(lab.central_dir) as conn:
        conn.execute("UPDATE classic_licenses SET converted = 1")
    lab.ingest(lab.export()[0])
    lab.apply(lab.respond())
    with lab.db.reader() as uow:
        [view] = list_conversions(uow.session, lab.actor, ACCOUNT)
        assert view.conversion.status == REJECTED
        assert "only 1 of PAK PAK-1001" in view.conversion.reason
    assert _lines(lab) == []


def test_transfer_moves_a_pak_between_vas_and_is_audited(lab: Lab) -> None:
    _entitle(lab)
    lab.apply(lab.respond())
    with lab.db.uow() as uow:
        moved = transfer_classic(uow, lab.actor, ACCOUNT, "PAK-1001", "L-SEC-K9", "Plant")
        assert moved.va == "Plant"
        uow.commit()
    # Central's next list keeps the site's choice of VA.
    lab.apply(lab.respond())
    assert _classic(lab)["PAK-1001/L-SEC-K9"][0] == "Plant"
    # The move goes up with the next usage batch, and Central names the new VA from then on.
    batch, _ = lab.export()
    with read_bundle(batch) as bundle:
        texts = [record_text(rec) for rec in bundle.records()]
    assert any("classic (PAK) license moved" in t for t in texts), texts
    assert central_classic.list_classic(lab.central_dir)[0].va == "Lab"
    lab.ingest(batch)
    assert central_classic.list_classic(lab.central_dir)[0].va == "Plant"
    with lab.db.reader() as uow:
        details = uow.session.scalar(select(AuditEvent.details).where(
            AuditEvent.action == "classic.transfer"))
    assert details is not None and '"from": "Lab"' in details
    with lab.db.uow() as uow, pytest.raises(InvalidInput, match="already in"):
        transfer_classic(uow, lab.actor, ACCOUNT, "PAK-1001", "L-SEC-K9", "Plant")
    with lab.db.uow() as uow, pytest.raises(NotFound, match="no classic license"):
        transfer_classic(uow, lab.actor, ACCOUNT, "PAK-9", "L-SEC-K9", "Plant")


def test_va_users_see_their_vas_and_the_unassigned_and_act_only_on_theirs(lab: Lab) -> None:
    _entitle(lab)
    _entitle(lab, pak="PAK-2002", sku="L-X", va="Plant")
    _entitle(lab, pak="PAK-3003", sku="L-Y", va=None)
    lab.apply(lab.respond())
    user = _va_user(lab, "Lab")
    assert set(_classic(lab, user)) == {"PAK-1001/L-SEC-K9", "PAK-3003/L-Y"}
    # Moving Lab's PAK to Plant needs the right on Plant too.
    with lab.db.uow() as uow, pytest.raises((PermissionDenied, NotFound)):
        transfer_classic(uow, user, ACCOUNT, "PAK-1001", "L-SEC-K9", "Plant")
    with lab.db.uow() as uow, pytest.raises((PermissionDenied, NotFound)):
        convert_classic(uow, user, ACCOUNT, "PAK-2002", "L-X", 1)
    with lab.db.uow() as uow:
        convert_classic(uow, user, ACCOUNT, "PAK-1001", "L-SEC-K9", 1)
        uow.commit()


def test_a_va_holding_classic_licenses_is_not_empty(lab: Lab) -> None:
    from satellite.accounts.removal import delete_va
    _entitle(lab, va="Plant")
    lab.apply(lab.respond())
    with lab.db.uow() as uow, pytest.raises(Conflict, match="1 classic licenses"):
        delete_va(uow, lab.actor, ACCOUNT, "Plant")


def test_central_refuses_a_classic_move_that_names_no_target(lab: Lab) -> None:
    with sqlite3.connect(":memory:") as conn, pytest.raises(InvalidInput, match="record 7"):
        central_classic.moved(conn, {"account": ACCOUNT, "pak": "PAK-1001", "sku": "L-SEC-K9",
                                     "from": "Lab", "to": None}, 7)

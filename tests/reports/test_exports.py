"""Exports: every row, in pages, with the list's filters, safe for spreadsheets."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from satellite.accounts.models import Account, VirtualAccount
from satellite.actor import Actor
from satellite.audit.service import list_events, record, search_of
from satellite.clock import FixedClock
from satellite.config import Settings
from satellite.devices.models import Device
from satellite.errors import InvalidInput, NotFound, PermissionDenied
from satellite.labels.models import DeviceLabel, LicenseLabel
from satellite.reports import exports
from satellite.reports.exports import Filters, export
from satellite.reports.formats import csv_stream, json_stream, neutralise
from satellite.uow import Database
from satellite.users.service import create_user, user_actor
from tests.seed import REGIONS, Seeded, seed
from tests.statements import counting


@pytest.fixture
def seeded(db: Database, settings: Settings) -> Seeded:
    return seed(db, settings.data_dir, accounts=2, vas=12, devices=240, reservations=20,
                audit_events=30)


def _csv(kind: str, db: Database, actor: Actor, filters: Filters) -> list[dict[str, str]]:
    report = export(db, actor, kind, filters)
    return list(csv.DictReader(io.StringIO("".join(csv_stream(report.columns, report.rows)))))


def test_every_product_instance_is_exported_once_across_pages(
        db: Database, actor: Actor, seeded: Seeded, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(exports, "PAGE", 25)
    account = seeded.accounts[0]
    with db.reader() as uow:
        expected = uow.session.scalar(select(func.count(Device.id)).join(
            Account, Account.id == Device.account_id).where(Account.domain == account.domain))
    with counting(db.engine) as statements:
        rows = _csv("product-instances", db, actor, Filters(account=account.domain))
    udis = [r["udi"] for r in rows]
    assert len(udis) == expected and len(set(udis)) == expected > 25
    assert all(r["account"] == account.name for r in rows)
    assert all(r["last_contact_at"].endswith("Z") and "." not in r["last_contact_at"]
               for r in rows)
    # A fixed number of statements per page, not per row.
    pages = -(-expected // 25)
    assert len(statements) <= 10 * (pages + 1)


def test_device_export_honours_the_list_filters(db: Database, actor: Actor,
                                               seeded: Seeded) -> None:
    account = seeded.accounts[0]
    va = account.leaf_vas[0]
    rows = _csv("product-instances", db, actor,
                Filters(account=account.domain, va=va, status="Authorized"))
    assert rows and {r["va"] for r in rows} == {va}
    assert {r["status"] for r in rows} == {"Authorized"}
    host = account.sample_hostnames[0]
    found = _csv("product-instances", db, actor, Filters(account=account.domain, text=host))
    assert found and all(r["hostname"].startswith(host) for r in found)


def test_license_export_has_counters_and_line_dates(db: Database, actor: Actor,
                                                   seeded: Seeded) -> None:
    account = seeded.accounts[0]
    rows = _csv("licenses", db, actor, Filters(account=account.domain))
    assert rows
    row = rows[0]
    assert set(exports.LICENSE_COLUMNS) == set(row)
    assert int(row["available"]) == int(row["quantity"]) - int(row["in_use"]) - int(row["reserved"])
    assert any(r["line_end"] for r in rows)  # TERM lines carry their dates
    out = _csv("licenses", db, actor, Filters(account=account.domain,
                                               status="Out Of Compliance"))
    assert all(r["status"] == "Out Of Compliance" for r in out)


def test_reservations_and_alerts_and_history_export(db: Database, actor: Actor,
                                                    seeded: Seeded) -> None:
    account = seeded.accounts[0]
    rows = _csv("reservations", db, actor, Filters(account=account.domain))
    assert rows and all(r["udi"].startswith("PID:") for r in rows)
    assert json.loads(rows[0]["licenses"]) or rows[0]["kind"] == "PLR"
    _csv("alerts", db, actor, Filters(account=account.domain, cleared=True))
    with pytest.raises(InvalidInput, match="per account"):
        export(db, actor, "usage-history", Filters())


def test_formula_like_cells_are_neutralised(db: Database, actor: Actor) -> None:
    dangerous = ["=HYPERLINK(\"http://x\")", "+1+1", "-2", "@SUM(A1)", "\tx", "plain"]
    with db.uow() as uow:
        for target in dangerous:
            record(uow, actor, "test.event", target)
        uow.commit()
    rows = _csv("audit-log", db, actor, Filters(action="test."))
    targets = [r["target"] for r in reversed(rows)]
    assert targets == ["'=HYPERLINK(\"http://x\")", "'+1+1", "'-2", "'@SUM(A1)", "'\tx", "plain"]
    assert neutralise("-") == "'-"
    # Numbers stay numbers: only text is quoted.
    assert "".join(csv_stream(("n",), [{"n": -3}])).splitlines()[1] == "-3"


def test_json_export_is_one_document(db: Database, actor: Actor) -> None:
    with db.uow() as uow:
        for n in range(3):
            record(uow, actor, "test.json", f"t{n}")
        uow.commit()
    report = export(db, actor, "audit-log", Filters(action="test.json"))
    doc = json.loads("".join(json_stream(report.name, report.rows)))
    assert [e["target"] for e in doc["audit-log"]] == ["t2", "t1", "t0"]
    assert json.loads("".join(json_stream("x", []))) == {"x": []}


def test_refusals_come_before_the_first_row(db: Database, actor: Actor, seeded: Seeded) -> None:
    with db.uow() as uow:
        create_user(uow, actor, "nobody", "a long enough password")
        uow.commit()
    with db.reader() as uow:
        from satellite.users.service import get_user
        nobody = user_actor(get_user(uow.session, "nobody"))
    with pytest.raises((PermissionDenied, NotFound)):
        export(db, nobody, "product-instances", Filters(account=seeded.accounts[0].domain))
    with pytest.raises(PermissionDenied):
        export(db, nobody, "audit-log", Filters())
    with pytest.raises(InvalidInput, match="not a report"):
        export(db, actor, "passwords", Filters())


def test_audit_search_by_user_action_target_and_days(db: Database, clock: FixedClock) -> None:
    alice, bob = Actor("user", "alice"), Actor("user", "bob")
    with db.uow() as uow:
        record(uow, alice, "license.transfer", "Lab -> Plant")
        clock.advance(timedelta(days=2))
        record(uow, bob, "device.remove", "PID:A,SN:1")
        record(uow, Actor("user", "alice2"), "license.transfer", "lab two")
        uow.commit()
    day = clock.now().date()
    with db.reader() as uow:
        def targets(**kw: str) -> list[str]:
            return [e.target for e in list_events(uow.session, search_of(**kw))
                    if e.action != "seed"]

        assert targets(user="alice") == ["Lab -> Plant"]
        assert targets(user="user:bob") == ["PID:A,SN:1"]
        assert targets(action="license.") == ["lab two", "Lab -> Plant"]
        assert targets(text="LAB", user="alice2") == ["lab two"]
        assert targets(since=day.isoformat(), action="license") == ["lab two"]
        assert targets(until=(day - timedelta(days=1)).isoformat(),
                       action="license") == ["Lab -> Plant"]
    with pytest.raises(InvalidInput, match="since must be a date"):
        search_of(since="yesterday")
    with pytest.raises(InvalidInput, match="until is before since"):
        search_of(since="2026-03-02", until="2026-03-01")


def test_exports_narrow_to_items_carrying_every_tag_asked(db: Database, actor: Actor,
                                                          seeded: Seeded) -> None:
    account = seeded.accounts[0]
    with db.reader() as uow:
        s = uow.session
        acc_id = s.scalar(select(Account.id).where(Account.domain == account.domain))
        spares = set(s.scalars(select(DeviceLabel.device_id).where(
            DeviceLabel.label == "spare", DeviceLabel.account_id == acc_id)))
        both = spares & set(s.scalars(select(DeviceLabel.device_id).where(
            DeviceLabel.label == f"site-{REGIONS[0]}")))
        reviewed = set(s.execute(select(LicenseLabel.va_id, LicenseLabel.tag).join(
            VirtualAccount, VirtualAccount.id == LicenseLabel.va_id).where(
            LicenseLabel.label == "reviewed", VirtualAccount.account_id == acc_id)).all())
    rows = _csv("product-instances", db, actor, Filters(account=account.domain, tags=("spare",)))
    assert len(rows) == len(spares) > 0
    two = _csv("product-instances", db, actor,
               Filters(account=account.domain, tags=("spare", f"site-{REGIONS[0]}")))
    assert 0 < len(two) == len(both) < len(rows)
    pools = _csv("licenses", db, actor, Filters(account=account.domain, tags=("reviewed",)))
    assert {(r["virtual_account"], r["license"]) for r in pools} and len(
        {(r["virtual_account"], r["license"]) for r in pools}) == len(reviewed)
    shipped = _csv("reservations", db, actor, Filters(account=account.domain, tags=("ship-0",)))
    everything = _csv("reservations", db, actor, Filters(account=account.domain))
    assert 0 < len(shipped) < len(everything)
    assert _csv("product-instances", db, actor,
                Filters(account=account.domain, tags=("no-such-tag",))) == []

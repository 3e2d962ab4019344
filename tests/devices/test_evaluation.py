"""The evaluation period of devices: a SLUP device using what its VA holds no license for."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select

from satellite.actor import Actor
from satellite.audit.models import AuditEvent
from satellite.clock import FixedClock
from satellite.config import Settings
from satellite.devices import evaluation
from satellite.devices.service import list_devices, show_device
from satellite.licenses.counters import counter
from satellite.licenses.models import LicenseLine
from satellite.slup.jobs import evaluation_job
from satellite.slup.service import import_usage
from satellite.uow import Database
from tests.conftest import CliResult
from tests.licenses.helpers import add_line, make_account
from tests.slup.files import AP_TAG, WLC, report, usage_file

Cli = Callable[..., CliResult]
WLC_UDI, SPARE_UDI = "PID:C9800-40-K9,SN:FOX1", "PID:C9800-40-K9,SN:FOX2"


def _import(db: Database, actor: Actor, *reports: str) -> None:
    with db.uow() as uow:
        import_usage(uow, actor, "Acme", "Lab", [("usage.txt", io.BytesIO(usage_file(*reports)))])
        uow.commit()


def _shown(db: Database, actor: Actor, clock: FixedClock, udi: str = WLC_UDI) -> dict:
    with db.reader() as uow:
        return show_device(uow.session, actor, udi, now=clock.now())


def _listed(db: Database, actor: Actor, clock: FixedClock, which: str) -> list[str]:
    with db.reader() as uow:
        page = list_devices(uow.session, actor, account="Acme", now=clock.now(),
                            in_evaluation=which)
    return [row["udi"] for row in page.rows]


def _in_use(db: Database, va_id: int, tag: str, clock: FixedClock) -> int:
    with db.reader() as uow:
        return counter(uow.session, va_id, tag, clock.now().date()).in_use


def test_a_slup_device_using_an_unlicensed_tag_is_in_evaluation_then_out_of_compliance(
        db: Database, actor: Actor, clock: FixedClock, settings: Settings) -> None:
    vas = make_account(db, actor)
    add_line(db, vas["Lab"], WLC, 5)
    _import(db, actor, report("C9800-40-K9", "FOX1", 1, WLC),
            report("C9800-40-K9", "FOX1", 2, AP_TAG))
    shown = _shown(db, actor, clock)
    assert shown["status"] == "Authorized"
    assert shown["evaluation"]["text"] == "in evaluation, 90 days left"
    # Evaluation use consumes no license: the pools see only the licensed tag.
    assert shown["usage"] == {WLC: 1}
    assert _in_use(db, vas["Lab"], AP_TAG, clock) == 0
    assert _listed(db, actor, clock, "active") == [WLC_UDI]
    assert _listed(db, actor, clock, "expired") == []

    clock.advance(timedelta(days=30))
    evaluation_job(db, settings)
    assert _shown(db, actor, clock)["evaluation"]["text"] == "in evaluation, 60 days left"
    assert _shown(db, actor, clock)["status"] == "Authorized"

    clock.advance(timedelta(days=60))
    evaluation_job(db, settings)
    shown = _shown(db, actor, clock)
    assert shown["evaluation"]["state"] == "evaluation expired"
    assert shown["status"] == "Out Of Compliance"
    assert shown["usage"] == {AP_TAG: 1, WLC: 1}
    assert _in_use(db, vas["Lab"], AP_TAG, clock) == 1
    assert _listed(db, actor, clock, "expired") == [WLC_UDI]
    assert _listed(db, actor, clock, "active") == []
    with db.reader() as uow:
        audited = [json.loads(e.details)["after"] for e in uow.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "device.evaluation"))]
    assert audited == ["evaluation expired"]


def test_licenses_arriving_end_evaluation_and_the_period_is_never_given_again(
        db: Database, actor: Actor, clock: FixedClock, settings: Settings) -> None:
    vas = make_account(db, actor)
    _import(db, actor, report("C9800-40-K9", "FOX2", 1, AP_TAG))
    started = _shown(db, actor, clock, SPARE_UDI)["evaluation"]["startedAt"]
    clock.advance(timedelta(days=10))
    add_line(db, vas["Lab"], AP_TAG, 1, origin="order-2")
    evaluation_job(db, settings)
    shown = _shown(db, actor, clock, SPARE_UDI)
    assert shown["evaluation"]["state"] == "evaluation ended"
    assert shown["status"] == "Authorized" and shown["usage"] == {AP_TAG: 1}
    assert _listed(db, actor, clock, "active") == []

    # The line goes: the device is back in evaluation, on the clock it started with.
    with db.uow() as uow:
        line = uow.session.scalar(select(LicenseLine).where(LicenseLine.va_id == vas["Lab"]))
        uow.session.delete(line)
        uow.commit()
    clock.advance(timedelta(days=5))
    _import(db, actor, report("C9800-40-K9", "FOX2", 2, AP_TAG))
    shown = _shown(db, actor, clock, SPARE_UDI)
    assert shown["evaluation"]["startedAt"] == started
    assert shown["evaluation"]["text"] == "in evaluation, 75 days left"


def test_the_cli_lists_and_shows_devices_in_evaluation(
        db: Database, actor: Actor, cli: Cli, tmp_path: Path) -> None:
    make_account(db, actor)
    path = tmp_path / "usage.txt"
    path.write_bytes(usage_file(report("C9800-40-K9", "FOX1", 1, AP_TAG)))
    assert cli("slup", "import", str(path), "--account", "Acme", "--va", "Lab").code == 0
    listed = cli("device", "list", "--account", "Acme", "--evaluation", "active")
    assert listed.code == 0, listed.err
    assert WLC_UDI in listed.out and "in evaluation, 90 days left" in listed.out
    assert "0 of 0" in cli("device", "list", "--evaluation", "expired").out
    shown = cli("device", "show", WLC_UDI)
    assert "evaluation: in evaluation, 90 days left" in shown.out
    as_json = json.loads(cli("device", "show", WLC_UDI, "--json").out)
    assert as_json["evaluation"]["daysLeft"] == 90
    refused = cli("device", "list", "--evaluation", "someday")
    assert refused.code != 0


T0 = datetime(2026, 1, 1, tzinfo=UTC)


@given(st.integers(min_value=0, max_value=200 * 86400))
def test_days_left_count_down_from_90_to_expiry(seconds: int) -> None:
    now = T0 + timedelta(seconds=seconds)
    left = evaluation.days_left(T0, now)
    shown = evaluation.view(T0, True, now)
    assert shown is not None
    assert 0 <= left <= 90
    assert (left == 0) == (now >= T0 + timedelta(days=90))
    assert shown["state"] == ("evaluation expired" if left == 0 else "in evaluation")
    later = evaluation.days_left(T0, now + timedelta(hours=1))
    assert later <= left

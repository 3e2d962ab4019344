"""Out-of-compliance alerts follow every change of a pool, raised once and cleared on recovery."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select, text

from satellite.actor import Actor
from satellite.alerts.models import CRITICAL, WARNING, Alert, AlertDelivery
from satellite.alerts.service import evaluate
from satellite.clock import FixedClock
from satellite.licenses import compliance
from satellite.licenses.models import IN_COMPLIANCE, OUT_OF_COMPLIANCE
from satellite.licenses.pools import refresh_pools_job
from satellite.licenses.transfers import transfer
from satellite.licenses.usage import set_usage
from satellite.uow import Database
from tests.licenses.helpers import ROUTER, add_line, make_account

KIND = "out_of_compliance"


def use(db: Database, owner: str, va_id: int, count: int, tag: str = ROUTER) -> None:
    with db.uow() as uow:
        set_usage(uow.session, owner, "in_use", {(va_id, tag): count} if count else {})
        uow.commit()


def alerts(db: Database) -> list[tuple[str, str, bool]]:
    """(key, severity, open) of every compliance alert."""
    with db.reader() as uow:
        return [(a.key, a.severity, a.cleared_at is None) for a in uow.session.scalars(
            select(Alert).where(Alert.kind == KIND).order_by(Alert.id))]


def test_the_rule_and_its_severity() -> None:
    assert compliance.status(0) == IN_COMPLIANCE
    assert compliance.status(-1) == OUT_OF_COMPLIANCE
    assert compliance.severity(100, -10) == WARNING     # 10 % short
    assert compliance.severity(100, -11) == CRITICAL
    assert compliance.severity(0, -1) == CRITICAL       # use of a tag with no line


def test_usage_beyond_the_pool_raises_one_alert_and_licenses_clear_it(
        db: Database, actor: Actor) -> None:
    vas = make_account(db, actor)
    lab = vas["Lab"]
    add_line(db, lab, ROUTER, 3)
    for n in range(3):
        use(db, f"device:{n + 100}", lab, 1)
    assert alerts(db) == []
    use(db, "device:103", lab, 1)
    key = compliance.alert_key(lab, ROUTER)
    assert alerts(db) == [(key, CRITICAL, True)]
    use(db, "device:104", lab, 1)  # shorter still: the same alert, its numbers refreshed
    assert alerts(db) == [(key, CRITICAL, True)]
    with db.reader() as uow:
        alert = uow.session.scalar(select(Alert).where(Alert.key == key))
        assert alert is not None
        assert "5 in use, 3 license(s); short by 2" in alert.message
    add_line(db, lab, ROUTER, 2, origin="order-2")  # licenses arrive
    assert alerts(db) == [(key, CRITICAL, False)]


def test_a_transfer_clears_it_and_a_reservation_raises_it(db: Database, actor: Actor) -> None:
    vas = make_account(db, actor)
    lab, ops = vas["Lab"], vas["Ops"]
    add_line(db, lab, ROUTER, 20)
    use(db, "device:1", ops, 2)  # Ops holds no line of the tag: unlicensed use
    assert alerts(db) == [(compliance.alert_key(ops, ROUTER), CRITICAL, True)]
    with db.uow() as uow:
        transfer(uow, actor, "Acme", "Lab", "Ops", ROUTER, 2)
        uow.commit()
    assert alerts(db) == [(compliance.alert_key(ops, ROUTER), CRITICAL, False)]
    use(db, "device:2", lab, 17)
    with db.uow() as uow:
        set_usage(uow.session, "reservation:1", "reserved", {(lab, ROUTER): 2})
        uow.commit()
    # 1 short of 18: within 10 %, a warning.
    assert alerts(db)[1] == (compliance.alert_key(lab, ROUTER), WARNING, True)


def test_a_line_that_ends_raises_it_with_the_hourly_pool_refresh(
        db: Database, actor: Actor, clock: FixedClock) -> None:
    vas = make_account(db, actor)
    today = clock.now().date()
    add_line(db, vas["Lab"], ROUTER, 2, "TERM", date(2026, 1, 1), today)
    use(db, "device:1", vas["Lab"], 2)
    assert alerts(db) == []
    clock.advance(timedelta(days=1))
    refresh_pools_job(db, None)  # type: ignore[arg-type]
    assert alerts(db) == [(compliance.alert_key(vas["Lab"], ROUTER), CRITICAL, True)]


def test_the_hourly_check_raises_what_no_write_recorded_and_clears_what_is_over(
        db: Database, actor: Actor, clock: FixedClock) -> None:
    vas = make_account(db, actor)
    add_line(db, vas["Lab"], ROUTER, 1)
    use(db, "device:1", vas["Lab"], 1)
    # A write the hook does not see: the pool's use raised straight in the table.
    with db.uow() as uow:
        uow.session.execute(text("UPDATE license_usage_totals SET in_use = 4"))
        uow.commit()
    assert alerts(db) == []
    for _ in range(2):
        with db.uow() as uow:
            evaluate(uow.session, clock.now(), 30)
            uow.commit()
    assert alerts(db) == [(compliance.alert_key(vas["Lab"], ROUTER), CRITICAL, True)]
    with db.uow() as uow:
        uow.session.execute(text("UPDATE license_usage_totals SET in_use = 1"))
        evaluate(uow.session, clock.now(), 30)
        uow.commit()
    assert alerts(db)[0][2] is False


def test_raised_once_queued_once_for_a_channel(db: Database, actor: Actor, settings: object) -> None:
    from satellite.alerts.channels import add_channel
    from satellite.tokens.secrets import TokenSealer

    vas = make_account(db, actor)
    add_line(db, vas["Lab"], ROUTER, 1)
    with db.uow() as uow:
        add_channel(uow, actor, TokenSealer.for_data_dir(settings.data_dir),  # type: ignore[attr-defined]
                    "acme.example.com", "ops", "email", "ops@acme.example")
        uow.commit()
    for n in range(2, 6):
        use(db, "device:1", vas["Lab"], n)
    with db.reader() as uow:
        queued = list(uow.session.scalars(select(AlertDelivery.alert_key)))
    assert queued == [compliance.alert_key(vas["Lab"], ROUTER)]

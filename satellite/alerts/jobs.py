"""Alerts' scheduled work: the hourly check of every alert condition, and delivery."""

from __future__ import annotations

from satellite.alerts import service
from satellite.alerts.delivery import deliver_due
from satellite.central_settings import central_setting
from satellite.config import Settings
from satellite.jobs import Job
from satellite.uow import Database


def check_alerts(db: Database, settings: Settings) -> None:
    """Raise what an event missed and clear what no longer holds (expiry, overdue sync...)."""
    with db.uow() as uow:
        service.evaluate(uow.session, uow.clock.now(), int(central_setting(
            uow.session, "sync_overdue_days", settings.sync_overdue_days)),
            settings.expiry_notice_days)
        uow.commit()


def deliver_alerts(db: Database, settings: Settings) -> None:
    deliver_due(db, settings)


def jobs(settings: Settings) -> list[Job]:
    return [Job("check-alerts", check_alerts, 3600.0), Job("deliver-alerts", deliver_alerts, 15.0)]

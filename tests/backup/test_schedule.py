"""Scheduled backups: taken when due by the scheduler's job, pruned to backup_keep, restorable."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from satellite.accounts.models import Account
from satellite.accounts.service import create_account
from satellite.actor import Actor
from satellite.alerts.models import BACKUP_FAILED, Alert
from satellite.backup.schedule import scheduled_backups
from satellite.backup.service import restore
from satellite.bootstrap import open_database
from satellite.clock import FixedClock
from satellite.config import Settings, load_settings
from satellite.errors import ConfigError
from satellite.scheduler import all_jobs, job_runs, run_job
from satellite.uow import Database
from tests.backup.test_backup import PASSPHRASE, _drop, _move_source_schema_aside, _target


@pytest.fixture
def scheduled(settings: Settings, tmp_path: Path) -> Settings:
    secret = tmp_path / "backup.pass"
    secret.write_text(PASSPHRASE + "\n")
    return dataclasses.replace(settings, backup_dir=str(tmp_path / "backups"), backup_keep=2,
                               backup_interval_hours=24.0, backup_passphrase_file=str(secret))


def _run(db: Database, settings: Settings) -> None:
    (job,) = [j for j in all_jobs(settings) if j.name == "backup"]
    run_job(job, db, settings)


def _names(settings: Settings) -> list[str]:
    return [b.path.name for b in scheduled_backups(Path(settings.backup_dir))]


def _open_alerts(db: Database) -> list[tuple[str, int | None]]:
    """(message, account id) of the open backup alerts."""
    with db.reader() as uow:
        return [(a.message, a.account_id) for a in uow.session.scalars(
            select(Alert).where(Alert.kind == BACKUP_FAILED, Alert.cleared_at.is_(None)))]


def test_backups_are_taken_when_due_pruned_to_the_newest_and_the_newest_restores(
        db: Database, scheduled: Settings, actor: Actor, clock: FixedClock, tmp_path: Path) -> None:
    backups = Path(scheduled.backup_dir)
    backups.mkdir()
    # Files the job did not make are never touched, even when named alike.
    mine = {"notes.txt": b"operator's notes", "satellite-backup-manual.satbak": b"kept",
            "satellite-backup-20200101T000000Z.satbak.old": b"kept too"}
    for name, content in mine.items():
        (backups / name).write_bytes(content)

    _run(db, scheduled)
    clock.advance(timedelta(hours=1))
    _run(db, scheduled)  # not due yet: one backup a day
    assert _names(scheduled) == ["satellite-backup-20260301T120000Z.satbak"]

    clock.advance(timedelta(hours=23))
    with db.uow() as uow:
        create_account(uow, actor, "Acme", "acme.example.com")
        uow.commit()
    _run(db, scheduled)
    assert _names(scheduled) == ["satellite-backup-20260301T120000Z.satbak",
                                 "satellite-backup-20260302T120000Z.satbak"]

    clock.advance(timedelta(hours=24))
    with db.uow() as uow:
        create_account(uow, actor, "Globex", "globex.example.com")
        uow.commit()
    _run(db, scheduled)
    # backup_keep = 2: the oldest went.
    assert _names(scheduled) == ["satellite-backup-20260302T120000Z.satbak",
                                 "satellite-backup-20260303T120000Z.satbak"]
    for name, content in mine.items():
        assert (backups / name).read_bytes() == content
    (run,) = [r for r in job_runs(db) if r.name == "backup"]
    assert (run.runs, run.failures, run.last_outcome) == (4, 0, "ok")

    newest = backups / _names(scheduled)[-1]
    on_pg = scheduled.database_url.startswith("postgresql")
    aside = _move_source_schema_aside(db, scheduled) if on_pg else None
    try:
        target = _target(scheduled, tmp_path, "restored")
        restore(target, newest, PASSPHRASE, clock, actor)
        restored = open_database(target, clock)
        try:
            with restored.reader() as uow:
                domains = set(uow.session.scalars(select(Account.domain)))
        finally:
            restored.dispose()
        assert domains == {"acme.example.com", "globex.example.com"}
    finally:
        if aside:
            _drop(scheduled, aside)


@pytest.mark.sqlite_only
def test_a_failed_backup_raises_an_alert_shows_in_job_runs_and_clears_when_one_succeeds(
        db: Database, scheduled: Settings, clock: FixedClock) -> None:
    secret = Path(scheduled.backup_passphrase_file)
    secret.unlink()
    _run(db, scheduled)
    (run,) = [r for r in job_runs(db) if r.name == "backup"]
    assert (run.last_outcome, run.failures) == ("failed", 1)
    assert f"cannot read passphrase file {secret}" in run.last_error
    ((message, account_id),) = _open_alerts(db)
    assert "the scheduled backup" in message and str(secret) in message
    assert account_id is None  # for system administrators
    assert _names(scheduled) == []

    secret.write_text(PASSPHRASE)
    clock.advance(timedelta(minutes=10))
    _run(db, scheduled)  # a failure is retried within the hour, not at every tick
    assert _names(scheduled) == []
    clock.advance(timedelta(hours=1))
    _run(db, scheduled)
    assert len(_names(scheduled)) == 1
    assert _open_alerts(db) == []
    (run,) = [r for r in job_runs(db) if r.name == "backup"]
    assert (run.last_outcome, run.runs, run.failures) == ("ok", 3, 1)


@pytest.mark.sqlite_only
def test_a_short_passphrase_fails_the_run_without_printing_it(
        db: Database, scheduled: Settings) -> None:
    Path(scheduled.backup_passphrase_file).write_text("tiny-secret")
    _run(db, scheduled)
    (run,) = [r for r in job_runs(db) if r.name == "backup"]
    assert run.last_outcome == "failed" and "at least 12 characters" in run.last_error
    ((message, _),) = _open_alerts(db)
    assert "tiny-secret" not in run.last_error + message


def test_the_backup_job_exists_only_with_a_backup_dir_and_needs_a_passphrase_file(
        tmp_path: Path) -> None:
    assert "backup" not in {j.name for j in all_jobs(load_settings(data_dir=tmp_path, env={}))}
    on = load_settings(data_dir=tmp_path, env={}, overrides={
        "backup_dir": str(tmp_path / "b"), "backup_passphrase_file": str(tmp_path / "p")})
    assert "backup" in {j.name for j in all_jobs(on)}
    with pytest.raises(ConfigError, match="backup_passphrase_file"):
        load_settings(data_dir=tmp_path, env={}, overrides={"backup_dir": str(tmp_path / "b")})
    with pytest.raises(ConfigError, match="backup_keep"):
        load_settings(data_dir=tmp_path, env={}, overrides={"backup_keep": 0})

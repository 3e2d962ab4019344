"""Scheduled backups: the `satellite backup` file, taken by the server, with retention.

A backup is due `backup_interval_hours` after the newest scheduled backup in `backup_dir` (so a
restart never skips or doubles one); after a failure it is retried within the hour. Only files
this job names (satellite-backup-<UTC time>.satbak) are ever deleted.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from satellite.actor import Actor
from satellite.alerts import service as alerts
from satellite.alerts.models import BACKUP_FAILED
from satellite.backup.service import backup, read_passphrase
from satellite.config import Settings
from satellite.errors import SatelliteError
from satellite.state import get_state, set_state
from satellite.uow import Database

log = logging.getLogger(__name__)
TICK_SECONDS = 300.0
RETRY_AFTER = timedelta(hours=1)
LAST_FAILURE = "backup.last_failure_at"
_STAMP = "%Y%m%dT%H%M%SZ"
_NAME = re.compile(r"^satellite-backup-(\d{8}T\d{6}Z)\.satbak$")


@dataclass(frozen=True)
class ScheduledBackup:
    path: Path
    taken_at: datetime


def backup_name(at: datetime) -> str:
    return f"satellite-backup-{at.astimezone(UTC).strftime(_STAMP)}.satbak"


def scheduled_backups(directory: Path) -> list[ScheduledBackup]:
    """The backups this job made in `directory`, oldest first; other files are not looked at."""
    if not directory.is_dir():
        return []
    found = []
    for path in directory.iterdir():
        match = _NAME.match(path.name)
        if match and path.is_file():
            taken = datetime.strptime(match.group(1), _STAMP).replace(tzinfo=UTC)
            found.append(ScheduledBackup(path, taken))
    return sorted(found, key=lambda b: b.taken_at)


def prune(directory: Path, keep: int) -> list[Path]:
    """Delete the scheduled backups beyond the newest `keep`. Returns what was deleted."""
    old = scheduled_backups(directory)[:-keep] if keep > 0 else []
    for item in old:
        item.path.unlink(missing_ok=True)
    return [item.path for item in old]


def next_due(settings: Settings, last_failure: datetime | None) -> datetime | None:
    """When the next backup is due; None means now (there is none yet)."""
    made = scheduled_backups(Path(settings.backup_dir))
    due = made[-1].taken_at + timedelta(hours=settings.backup_interval_hours) if made else None
    if last_failure is not None and (not made or last_failure > made[-1].taken_at):
        retry = last_failure + min(RETRY_AFTER, timedelta(hours=settings.backup_interval_hours))
        due = retry if due is None else max(due, retry)
    return due


def take_scheduled_backup(db: Database, settings: Settings) -> Path:
    """Write one scheduled backup now, then prune. Returns its path.

    Raises InvalidInput (passphrase file), ConfigError (pg_dump missing), Conflict, OSError.
    """
    directory = Path(settings.backup_dir)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    passphrase = read_passphrase(Path(settings.backup_passphrase_file))
    out = directory / backup_name(db.clock.now())
    backup(settings, out, passphrase, db.clock, Actor.system("backup"))
    for removed in prune(directory, settings.backup_keep):
        log.info("scheduled backup %s removed (backup_keep = %d)", removed.name, settings.backup_keep)
    return out


def backup_job(db: Database, settings: Settings) -> None:
    """Ticks every few minutes; backs up when due. A failure raises the backup alert and is
    re-raised so the job run records it; the next success clears the alert."""
    with db.reader() as uow:
        now = uow.clock.now()
        failed = get_state(uow.session, LAST_FAILURE)
    due = next_due(settings, datetime.fromisoformat(failed) if failed else None)
    if due is not None and due > now:
        return
    try:
        path = take_scheduled_backup(db, settings)
    except (SatelliteError, OSError) as exc:
        reason = exc.message if isinstance(exc, SatelliteError) else f"{exc.strerror or exc}"
        with db.uow() as uow:
            set_state(uow.session, LAST_FAILURE, now.isoformat())
            alerts.raise_alert(uow.session, BACKUP_FAILED, BACKUP_FAILED,
                               f"the scheduled backup into {settings.backup_dir} failed: {reason}",
                               uow.clock.now())
            uow.commit()
        raise
    log.info("scheduled backup written to %s", path)
    with db.uow() as uow:
        alerts.clear_alert(uow.session, BACKUP_FAILED, uow.clock.now())
        uow.commit()

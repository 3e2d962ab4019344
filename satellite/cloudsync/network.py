"""Network mode: export, POST to Central, apply the answer; on a schedule, with backoff.

Every step is safe to cut at any point: the export is re-made from the unacknowledged log,
Central deduplicates by sequence, and an answer is applied in one transaction or not at all.
"""

from __future__ import annotations

import contextlib
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from satellite.accounts.service import account_for
from satellite.actor import Actor
from satellite.alerts import service as alerts
from satellite.backoff import backoff_delay
from satellite.central_settings import central_setting
from satellite.cloudsync import LAST_SERIAL_KEY, outbound
from satellite.cloudsync import sync_history as history
from satellite.cloudsync.central_registration import REGISTERED, STATE_KEY, registration_state, write_request
from satellite.cloudsync.export import export_batch
from satellite.cloudsync.service import ImportReport, import_bundle
from satellite.config import Settings
from satellite.errors import ConfigError, InvalidInput, SatelliteError
from satellite.keystore import Keystore, open_keystore
from satellite.limits import load_json, printable
from satellite.permissions.policy import require
from satellite.state import get_state, set_state
from satellite.uow import Database

log = logging.getLogger(__name__)
SYNC_PATH = "/api/v1/sync"
TICK_SECONDS = 60.0
_TIMEOUT = (10, 600)
_CHUNK = 1 << 16
LAST_SUCCESS, LAST_FAILURE, FAILURE_REASON = ("sync.last_success_at", "sync.last_failure_at",
                                              "sync.last_failure_reason")
FAILURES, NEXT_RUN = "sync.failures", "sync.next_run_at"
_ERROR_BYTES = 4096
# The next run is never further away than this, whatever Central's policy or the settings say.
MAX_DELAY_SECONDS = 90 * 24 * 3600.0


class CentralUnavailable(SatelliteError):
    """Central could not be reached or did not answer with a bundle."""

    exit_code = 7


@dataclass(frozen=True)
class SyncOutcome:
    registered_now: bool
    sent: int
    response: ImportReport


def _session(settings: Settings) -> requests.Session:
    http = requests.Session()
    if settings.proxy_url:
        http.proxies = {"http": settings.proxy_url, "https": settings.proxy_url}
    return http


def _exchange(http: requests.Session, settings: Settings, bundle: Path, answer: Path) -> None:
    url = settings.central_url.rstrip("/") + SYNC_PATH
    try:
        with bundle.open("rb") as body, http.post(
                url, data=body, stream=True, timeout=_TIMEOUT,
                headers={"Content-Type": "application/octet-stream"}) as reply:
            if reply.status_code != 200:
                raise CentralUnavailable(f"Central answered HTTP {reply.status_code}: "
                                         f"{_error_text(reply)}")
            limit, size = settings.max_upload_mb << 20, 0
            with answer.open("wb") as out:
                for chunk in reply.iter_content(_CHUNK):
                    size += len(chunk)
                    if size > limit:
                        raise CentralUnavailable(f"Central's answer is larger than {limit:,} "
                                                 "bytes (setting max_upload_mb)")
                    out.write(chunk)
    except requests.RequestException as exc:
        raise CentralUnavailable(f"cannot reach Central at {url}: {type(exc).__name__}: "
                                 f"{str(exc)[:200]}") from None


def _error_text(reply: requests.Response) -> str:
    try:
        document = load_json(next(reply.iter_content(_ERROR_BYTES), b""), "Central's error")
    except InvalidInput:
        return printable(str(reply.reason))
    found = document.get("error") if isinstance(document, dict) else None
    return printable(str(found)[:200]) if found else printable(str(reply.reason))


def sync_once(db: Database, settings: Settings, keystore: Keystore, actor: Actor,
              http: requests.Session | None = None) -> SyncOutcome:
    """Register if needed, then send every unacknowledged event and apply Central's answer.

    Raises ConfigError without central_url, CentralUnavailable, or the import's errors.
    """
    if not settings.central_url:
        raise ConfigError("network mode is off: set central_url (see config/satellite.toml)")
    http = http or _session(settings)
    work = settings.data_dir / "sync"
    work.mkdir(mode=0o700, parents=True, exist_ok=True)
    outgoing, answer = work / "outgoing.bundle", work / "answer.bundle"
    registered_now = False
    if registration_state(db) != REGISTERED:
        write_request(db, keystore, outgoing, actor)
        _exchange(http, settings, outgoing, answer)
        import_bundle(db, keystore, actor, answer, overdue_days=settings.sync_overdue_days,
                      expiry_days=settings.expiry_notice_days,
                      max_bytes=settings.max_upload_mb << 20)
        registered_now = registration_state(db) == REGISTERED
    batch = export_batch(db, keystore, actor, outgoing)
    _exchange(http, settings, outgoing, answer)
    report = import_bundle(db, keystore, actor, answer, overdue_days=settings.sync_overdue_days,
                           expiry_days=settings.expiry_notice_days,
                           max_bytes=settings.max_upload_mb << 20)
    return SyncOutcome(registered_now, batch.count, report)


def backoff_seconds(settings: Settings, failures: int, rng: Callable[[], float]) -> float:
    """Exponential backoff with jitter, capped at the sync interval."""
    return backoff_delay(settings.sync_retry_seconds, failures,
                         settings.sync_interval_hours * 3600, rng)


def run_sync(db: Database, settings: Settings, keystore: Keystore, actor: Actor, *,
             attempts: int = 1, sleep: Callable[[float], None] = time.sleep,
             rng: Callable[[], float] = random.random) -> SyncOutcome:
    """`sync_once`, retried up to `attempts` times with backoff; records success or failure.

    Raises the last attempt's error.
    """
    for attempt in range(1, attempts + 1):
        try:
            outcome = sync_once(db, settings, keystore, actor)
        except SatelliteError as exc:
            failures = _record(db, settings, actor, exc.message, rng)
            log.warning("sync attempt %d/%d failed: %s", attempt, attempts, exc.message)
            if attempt == attempts:
                raise
            sleep(backoff_seconds(settings, failures, rng))
        else:
            _record(db, settings, actor, None, rng, outcome)
            return outcome
    raise AssertionError("unreachable: attempts >= 1")


def _record(db: Database, settings: Settings, actor: Actor, failure: str | None,
            rng: Callable[[], float], outcome: SyncOutcome | None = None) -> int:
    with db.uow() as uow:
        s, now = uow.session, uow.clock.now()
        if failure is None:
            failures = 0
            set_state(s, LAST_SUCCESS, now.isoformat())
            delay = central_setting(s, "sync_interval_hours", settings.sync_interval_hours) * 3600
        else:
            failures = int(get_state(s, FAILURES) or 0) + 1
            set_state(s, LAST_FAILURE, now.isoformat())
            set_state(s, FAILURE_REASON, failure)
            delay = backoff_seconds(settings, failures, rng)
        set_state(s, FAILURES, str(failures))
        # Bounded, so that no value can keep the success above from being recorded.
        delay = min(max(delay, 1.0), MAX_DELAY_SECONDS)
        set_state(s, NEXT_RUN, (now + timedelta(seconds=delay)).isoformat())
        alerts.unreachable(s, failures, settings.sync_alert_failures, failure or "", now)
        history.add(s, actor, now, history.NETWORK, ok=failure is None, error=failure or "",
                    serial=outcome.response.header.serial if outcome else None,
                    records=outcome.sent if outcome else None,
                    summary=(f"{outcome.sent} events sent, response {outcome.response.header.serial}"
                             f" applied" + ("; registered" if outcome.registered_now else "")
                             if outcome else ""))
        uow.commit()
    return failures


def sync_job(db: Database, settings: Settings) -> None:
    """Scheduled every minute; syncs when the next run (interval or backoff) is due."""
    with db.reader() as uow:
        due = get_state(uow.session, NEXT_RUN)
        now = uow.clock.now()
    if due is not None and datetime.fromisoformat(due) > now:
        return
    # A failure is recorded in the sync status, with the next run pushed back.
    with contextlib.suppress(SatelliteError):
        run_sync(db, settings, open_keystore(settings), Actor.system("sync"))


def _latest(*stamps: str | None) -> str | None:
    """The latest of ISO timestamps (None when there is none)."""
    known = [t for t in stamps if t]
    return max(known, key=datetime.fromisoformat) if known else None


def sync_status(db: Database, settings: Settings, actor: Actor,
                account: str | None = None) -> dict[str, Any]:
    """Registration, last success and failure (and why), pending events, next run.

    The last success is the latest exchange with Central of either kind: a network sync, or a
    response carried in by hand and imported.

    System administrators may read it; so may an account's admins, naming their account.
    """
    with db.reader() as uow:
        s = uow.session
        if account is None:
            require(s, actor, "sync.view")
        else:
            account_for(s, actor, account, "sync.view")
        exchanged, imported = get_state(s, LAST_SUCCESS), get_state(s, "sync.last_import_at")
        return {
            "registration": get_state(s, STATE_KEY) or "unregistered",
            "central_url": settings.central_url or None,
            "network_mode": bool(settings.central_url),
            "proxy_url": settings.proxy_url or None,
            "interval_hours": central_setting(s, "sync_interval_hours",
                                           settings.sync_interval_hours),
            "last_success_at": _latest(exchanged, imported),
            "last_exchange_at": exchanged,
            "last_failure_at": get_state(s, LAST_FAILURE),
            "last_failure_reason": get_state(s, FAILURE_REASON),
            "consecutive_failures": int(get_state(s, FAILURES) or 0),
            "next_run_at": get_state(s, NEXT_RUN) if settings.central_url else None,
            "last_import_at": imported,
            "last_response_serial": int(get_state(s, LAST_SERIAL_KEY) or 0),
            "last_sequence": outbound.last_sequence(s),
            "acked_through": outbound.acked_through(s),
            "pending_events": outbound.pending_count(s),
        }

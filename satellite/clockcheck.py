"""Clock checks: the time this satellite has seen, and what a clock that jumped may not do.

The satellite keeps a high-water mark of the time it has seen (state `clock.high_water`): its
own clock at every check, the creation time of Central's last signed response, and the newest
timestamp of an accepted device message. A clock further than the tolerance behind that mark
has moved backwards. Within a process the wall clock is compared with the monotonic clock: a
wall clock that ran ahead of it by more than the tolerance has jumped forward. Devices refused
because their timestamps are far from ours are counted too: when several different devices
are off the same way, the fault is more likely ours.

A jump is recorded (state `clock.jump`), raises the `clock_jump` alert and makes /readyz say
"degraded"; while it stands the high-water mark does not move and the aging job forgets no
nonces (replay protection). A backward jump clears itself once the clock is back past the
mark; a forward one when the clock is set back, or when an operator accepts the new time
(`satellite clock accept`). Replay protection does not rest on detection alone: see
devices.verification.purge_nonces.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from satellite.alerts.models import CLOCK_JUMP
from satellite.clock import as_utc
from satellite.state import get_state, set_state

if TYPE_CHECKING:
    from satellite.actor import Actor
    from satellite.config import Settings
    from satellite.jobs import Job
    from satellite.uow import Database, UnitOfWork

log = logging.getLogger(__name__)

HIGH_WATER_KEY = "clock.high_water"
JUMP_KEY = "clock.jump"
# Several devices refused for their timestamps, all off the same way, within this window.
SKEW_WINDOW_SECONDS = 600.0
SKEW_DEVICES = 3


def tolerance(settings: Settings) -> timedelta:
    """How far the clock may be from the evidence before it counts as a jump: the skew devices
    are allowed, plus a minute."""
    return timedelta(seconds=settings.message_max_age_seconds + 60)


@dataclass(frozen=True)
class Jump:
    kind: str  # "backward" or "forward"
    detected_at: str
    seconds: int  # how far
    message: str


class ClockWatch:
    """One process's view of its clock: wall time against monotonic time since the last check,
    and the devices recently refused for their timestamps. Thread-safe."""

    def __init__(self, monotonic: Callable[[], float] = time.monotonic) -> None:
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._base: tuple[datetime, float] | None = None
        self._skews: deque[tuple[float, int, float]] = deque(maxlen=1000)

    def drift(self, now: datetime) -> float:
        """Seconds the wall clock moved beyond the monotonic clock since the last rebase
        (positive: forward); 0 before the first."""
        with self._lock:
            if self._base is None:
                self._base = (now, self._monotonic())
                return 0.0
            wall, mono = self._base
            return (now - wall).total_seconds() - (self._monotonic() - mono)

    def rebase(self, now: datetime) -> None:
        with self._lock:
            self._base = (now, self._monotonic())

    def note_skew(self, device_id: int | None, skew_seconds: float) -> None:
        """A device's message was refused: its timestamp is `skew_seconds` ahead of our clock
        (negative: behind). Logged once per device and window, so the log shows it without a
        line per retry."""
        with self._lock:
            now = self._monotonic()
            since = now - SKEW_WINDOW_SECONDS
            seen = any(device == device_id and at >= since for at, device, _s in self._skews)
            self._skews.append((now, device_id or 0, skew_seconds))
        if not seen:
            log.warning("device %s refused: its clock is %s %s the satellite's", device_id,
                        _duration(skew_seconds), "ahead of" if skew_seconds > 0 else "behind")

    def skew_suspect(self) -> str | None:
        """Why our clock is suspect from device refusals, or None."""
        with self._lock:
            since = self._monotonic() - SKEW_WINDOW_SECONDS
            recent = {device: skew for at, device, skew in self._skews if at >= since}
        for sign, word in ((-1, "behind"), (1, "ahead of")):
            off = sorted(abs(skew) for skew in recent.values() if skew * sign > 0)
            if len(off) >= SKEW_DEVICES and len(off) == len(recent):
                return (f"{len(off)} devices were refused in the last "
                        f"{SKEW_WINDOW_SECONDS / 60:g} minutes because their clocks are "
                        f"{_duration(off[len(off) // 2])} {word} the satellite's: check the "
                        "satellite's clock")
        return None


def high_water(session: Session, max_age_seconds: int) -> datetime | None:
    """The latest time seen: recorded mark, Central's last response, newest device message."""
    from satellite.devices.models import DeviceNonce

    seen = [_parse(get_state(session, HIGH_WATER_KEY)),
            _parse(get_state(session, "sync.last_response_created_at"))]
    newest_nonce = session.scalar(select(func.max(DeviceNonce.expires_at)))
    if newest_nonce is not None:
        seen.append(as_utc(newest_nonce) - timedelta(seconds=max_age_seconds))
    found = [at for at in seen if at is not None]
    return max(found) if found else None


def recorded_jump(session: Session) -> Jump | None:
    raw = get_state(session, JUMP_KEY)
    if not raw:
        return None
    return Jump(**json.loads(raw))


def check_clock(uow: UnitOfWork, settings: Settings, watch: ClockWatch) -> Jump | None:
    """Compare the clock with the evidence, record or clear a jump (and its alert), and move
    the high-water mark while the clock is trusted. Returns the jump that stands, if any.
    The caller commits."""
    from satellite.alerts.service import clear_alert, raise_alert

    session, now, tol = uow.session, uow.clock.now(), tolerance(settings)
    drift = watch.drift(now)
    watch.rebase(now)
    jump = recorded_jump(session)
    mark = high_water(session, settings.message_max_age_seconds)
    if drift > tol.total_seconds():
        jump = _record(session, now, "forward", drift,
                       f"the satellite's clock jumped {_duration(drift)} forward at "
                       f"{now:%Y-%m-%d %H:%M:%S} UTC")
    elif jump is not None and jump.kind == "forward" and now < (
            _parse(jump.detected_at) or now):
        # Earlier than when the jump was seen: the clock was set back, the jump is undone.
        log.warning("the satellite's clock was set back after its jump forward")
        _clear(session)
        jump = None
    if jump is None or jump.kind == "backward":
        if mark is not None and now < mark - tol:
            behind = (mark - now).total_seconds()
            jump = _record(session, now, "backward", behind,
                           f"the satellite's clock is {_duration(behind)} behind the latest "
                           f"time it has seen ({mark:%Y-%m-%d %H:%M:%S} UTC): it moved "
                           "backwards")
        elif jump is not None:
            log.warning("the satellite's clock is back past the latest time it had seen")
            _clear(session)
            jump = None
    if jump is None:
        set_state(session, HIGH_WATER_KEY, max(now, mark or now).isoformat())
        clear_alert(session, CLOCK_JUMP, now)
    else:
        raise_alert(session, CLOCK_JUMP, CLOCK_JUMP,
                    f"{jump.message}; replay protection keeps every nonce until the clock is "
                    "right again (`satellite clock status`)", now)
    return jump


def accept_clock(uow: UnitOfWork, actor: Actor, watch: ClockWatch) -> Jump | None:
    """An operator says the clock is right: clear the jump and restart the mark from now.

    Returns the jump that was cleared, if any. Raises PermissionDenied. The caller commits.
    """
    from satellite.alerts.service import clear_alert
    from satellite.audit.service import record
    from satellite.permissions.policy import require

    session, now = uow.session, uow.clock.now()
    require(session, actor, "system.clock")
    jump = recorded_jump(session)
    before = high_water(session, 0)
    _clear(session)
    set_state(session, HIGH_WATER_KEY, now.isoformat())
    clear_alert(session, CLOCK_JUMP, now)
    watch.rebase(now)
    record(uow, actor, "system.clock_accept", "clock", details={
        "now": now.isoformat(), "high_water_before": before.isoformat() if before else None,
        "jump": asdict(jump) if jump else None})
    return jump


def clock_report(session: Session, settings: Settings, now: datetime) -> dict[str, object]:
    """What `satellite clock status` shows."""
    from satellite.devices.verification import nonces_forgotten_before

    jump = recorded_jump(session)
    mark = high_water(session, settings.message_max_age_seconds)
    forgotten = nonces_forgotten_before(session)
    return {"now": now.isoformat(), "high_water": mark.isoformat() if mark else None,
            "state": "ok" if jump is None else f"jumped {jump.kind}",
            "problem": jump.message if jump else None,
            "nonces_forgotten_before": forgotten.isoformat() if forgotten else None,
            "tolerance_seconds": int(tolerance(settings).total_seconds())}


def clock_problem(db: Database, settings: Settings) -> str | None:
    """Why the clock cannot be trusted right now (for /readyz), or None."""
    with db.reader() as uow:
        jump = recorded_jump(uow.session)
        now = uow.clock.now()
    if jump is not None:
        return jump.message
    # Seen before the scheduler's next check records it (and on nodes that do not lead).
    drift = db.clock_watch.drift(now)
    if abs(drift) > tolerance(settings).total_seconds():
        return f"the satellite's clock jumped {_duration(drift)} " + (
            "forward" if drift > 0 else "backward")
    # Within tolerance: start again from here, so that months of clock slewing never add up.
    db.clock_watch.rebase(now)
    return db.clock_watch.skew_suspect()


def clock_job(db: Database, settings: Settings) -> None:
    """Every minute: compare the clock with the evidence (see check_clock)."""
    with db.uow() as uow:
        check_clock(uow, settings, db.clock_watch)
        uow.commit()


def _record(session: Session, now: datetime, kind: str, seconds: float, message: str) -> Jump:
    before = recorded_jump(session)
    if before is None or before.kind != kind:
        log.warning("%s", message)
    detected = before.detected_at if before is not None and before.kind == kind \
        else now.isoformat()
    jump = Jump(kind, detected, int(seconds), message)
    set_state(session, JUMP_KEY, json.dumps(asdict(jump)))
    return jump


def _clear(session: Session) -> None:
    set_state(session, JUMP_KEY, "")


def _parse(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return as_utc(datetime.fromisoformat(value))
    except ValueError:
        return None


def _duration(seconds: float) -> str:
    seconds = abs(seconds)
    if seconds >= 2 * 86400:
        return f"{seconds / 86400:.0f} days"
    if seconds >= 2 * 3600:
        return f"{seconds / 3600:.0f} hours"
    if seconds >= 120:
        return f"{seconds / 60:.0f} minutes"
    return f"{seconds:.0f} seconds"


def jobs(_settings: Settings) -> list[Job]:
    from satellite.jobs import Job

    return [Job("check-clock", clock_job, 60.0)]

"""Logging set-up for the server: one line per record, optionally JSON."""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections.abc import Callable

from satellite.config import Settings

# waitress warns on every request that finds no idle thread: under sustained load, one line
# per request. The server logs one line per interval instead (see QueueDepthSummary).
QUEUE_LOGGER = "waitress.queue"
QUEUE_SUMMARY_SECONDS = 60.0
WAITRESS_QUEUE_MESSAGE = "Task queue depth is %d"


class _JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return json.dumps({"time": self.formatTime(record), "level": record.levelname,
                           "logger": record.name, "message": record.getMessage()})


class QueueDepthSummary(logging.Filter):
    """Let through one "Task queue depth" warning per interval, as a summary of the interval.

    The line that passes names the deepest queue and how many such warnings there were since
    the last line; the others are dropped. Requests that wait for a thread are a capacity
    signal worth a line a minute, not a line each.
    """

    def __init__(self, interval: float = QUEUE_SUMMARY_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self._interval = interval
        self._clock = clock
        self._lock = threading.Lock()
        self._last: float | None = None
        self._count = 0
        self._deepest = 0

    def filter(self, record: logging.LogRecord) -> bool:
        depth = record.args[0] if isinstance(record.args, tuple) and record.args else None
        if record.msg != WAITRESS_QUEUE_MESSAGE or not isinstance(depth, int):
            return True  # not the message this filter knows: leave it alone
        now = self._clock()
        with self._lock:
            self._count += 1
            self._deepest = max(self._deepest, depth)
            if self._last is not None and now - self._last < self._interval:
                return False
            count, deepest = self._count, self._deepest
            self._last, self._count, self._deepest = now, 0, 0
        record.msg = ("requests waited for a free server thread %d times since the last such "
                      "line (deepest queue %d): the server is at capacity; see the threads "
                      "setting")
        record.args = (count, deepest)
        return True


class DemoteToDebug(logging.Filter):
    """Log a library's INFO lines at DEBUG: APScheduler says "Running job" and "executed
    successfully" for every run of every job, most of an idle server's log. Its warnings and
    errors (a missed run, a job that raised) pass unchanged; the job's own outcome is logged by
    satellite.scheduler."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno != logging.INFO:
            return True
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return logging.getLogger().isEnabledFor(logging.DEBUG)


SCHEDULER_LOGGERS = ("apscheduler.executors.default", "apscheduler.scheduler")


def configure_logging(settings: Settings) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if settings.log_json:
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level.upper())
    queue = logging.getLogger(QUEUE_LOGGER)
    queue.filters[:] = [f for f in queue.filters if not isinstance(f, QueueDepthSummary)]
    queue.addFilter(QueueDepthSummary())
    for name in SCHEDULER_LOGGERS:
        chatty = logging.getLogger(name)
        chatty.filters[:] = [f for f in chatty.filters if not isinstance(f, DemoteToDebug)]
        chatty.addFilter(DemoteToDebug())

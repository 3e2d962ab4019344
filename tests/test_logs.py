"""The server's log: waitress's per-request queue warnings become one line per interval."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from waitress.task import ThreadedTaskDispatcher

from satellite.config import load_settings
from satellite.logs import QUEUE_LOGGER, QueueDepthSummary, configure_logging


class _Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def queue_log() -> Iterator[tuple[list[logging.LogRecord], _Clock]]:
    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    clock = _Clock()
    summary = QueueDepthSummary(interval=60, clock=clock)
    logger = logging.getLogger(QUEUE_LOGGER)
    logger.addHandler(handler)
    logger.addFilter(summary)
    try:
        yield records, clock
    finally:
        logger.removeHandler(handler)
        logger.removeFilter(summary)


def _queue(depth: int) -> None:
    # waitress's own dispatcher, with no thread to take the tasks: each one queued warns.
    dispatcher = ThreadedTaskDispatcher()
    for _ in range(depth):
        dispatcher.add_task(object())


def test_a_flood_of_queue_warnings_is_one_line_per_interval(
        queue_log: tuple[list[logging.LogRecord], _Clock]) -> None:
    records, clock = queue_log
    _queue(3)  # warns at depths 1, 2, 3
    assert [r.getMessage() for r in records] == [
        "requests waited for a free server thread 1 times since the last such line (deepest "
        "queue 1): the server is at capacity; see the threads setting"]
    clock.now = 59.0
    _queue(5)
    assert len(records) == 1
    clock.now = 61.0
    _queue(1)
    # Everything since the last line is summed up: 2 + 5 + 1 warnings, the deepest 5.
    assert len(records) == 2 and "8 times" in records[1].getMessage()
    assert "deepest queue 5" in records[1].getMessage()
    assert records[1].levelname == "WARNING"


def test_other_records_of_the_logger_pass_untouched(
        queue_log: tuple[list[logging.LogRecord], _Clock]) -> None:
    records, _clock = queue_log
    logging.getLogger(QUEUE_LOGGER).warning("something else: %s", "as it is")
    logging.getLogger(QUEUE_LOGGER).warning("no arguments")
    assert [r.getMessage() for r in records] == ["something else: as it is", "no arguments"]


def test_the_server_logging_summarizes_queue_warnings_once(tmp_path: Path) -> None:
    root, queue = logging.getLogger(), logging.getLogger(QUEUE_LOGGER)
    saved = root.handlers[:], root.level, queue.filters[:]
    try:
        settings = load_settings(data_dir=tmp_path, env={})
        configure_logging(settings)
        configure_logging(settings)  # again: still one summary
        assert sum(isinstance(f, QueueDepthSummary) for f in queue.filters) == 1
    finally:
        root.handlers[:], queue.filters[:] = saved[0], saved[2]
        root.setLevel(saved[1])


def test_another_message_with_a_number_is_not_summed_up(
        queue_log: tuple[list[logging.LogRecord], _Clock]) -> None:
    records, _clock = queue_log
    for _ in range(2):
        logging.getLogger(QUEUE_LOGGER).warning("%d workers stopped", 3)
    assert [r.getMessage() for r in records] == ["3 workers stopped"] * 2


@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
def test_scheduler_run_lines_are_debug_but_its_errors_stay(tmp_path: Path, level: str) -> None:
    from satellite.logs import SCHEDULER_LOGGERS, DemoteToDebug

    records: list[logging.LogRecord] = []
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    executor = logging.getLogger(SCHEDULER_LOGGERS[0])
    try:
        configure_logging(load_settings(data_dir=tmp_path, env={"SATELLITE_LOG_LEVEL": level}))
        root.handlers[0].emit = records.append  # type: ignore[method-assign]
        executor.info('Running job "%s" (scheduled at %s)', "age-devices", "now")
        executor.error("Job %s raised an exception", "age-devices")
        shown = [(r.levelname, r.getMessage()) for r in records]
        expected = [("ERROR", "Job age-devices raised an exception")]
        if level == "DEBUG":
            expected.insert(0, ("DEBUG", 'Running job "age-devices" (scheduled at now)'))
        assert shown == expected
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
        executor.filters[:] = [f for f in executor.filters if not isinstance(f, DemoteToDebug)]

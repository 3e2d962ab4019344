"""Group commit as a mechanism: batching, one item per key, failures kept to their item."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

import pytest

from satellite.groupcommit import GroupCommit


class Recorder:
    """A batch runner that keeps what it was given; the first batch waits to be released."""

    def __init__(self) -> None:
        self.batches: list[list[tuple[str, int]]] = []
        self.first_started = threading.Event()
        self.release_first = threading.Event()

    def run(self, items: Sequence[tuple[str, int]]) -> list[int | Exception]:
        if not self.batches:
            self.first_started.set()
            self.release_first.wait(10)
        self.batches.append(list(items))
        if any(value < 0 for _key, value in items) and len(items) > 1:
            raise RuntimeError("the whole batch fails")
        return [ValueError(f"{key} refused") if value == 0 else value * 10
                for key, value in items]


def _submit_while_first_batch_runs(group: GroupCommit[tuple[str, int], int], recorder: Recorder,
                                   first: tuple[str, int],
                                   others: list[tuple[str, int]]) -> list[int | Exception]:
    """Submit `first`; while its batch runs, queue `others`; then let everything finish."""

    def call(item: tuple[str, int]) -> int | Exception:
        try:
            return group.submit(item)
        except Exception as exc:
            return exc

    with ThreadPoolExecutor(max_workers=len(others) + 1) as pool:
        leader = pool.submit(call, first)
        assert recorder.first_started.wait(10)
        waiting = [pool.submit(call, item) for item in others]
        # Every other caller has queued its item before the first batch is released.
        deadline = threading.Event()
        while len(group._queue) < len(others) and not deadline.wait(0.01):
            pass
        recorder.release_first.set()
        return [leader.result(), *[w.result() for w in waiting]]


def test_items_queued_during_a_batch_are_recorded_together_in_the_next_one() -> None:
    recorder = Recorder()
    group: GroupCommit[tuple[str, int], int] = GroupCommit(recorder.run, key=lambda i: i[0])
    others = [(f"k{n}", n) for n in range(1, 8)]
    results = _submit_while_first_batch_runs(group, recorder, ("k0", 100), others)
    assert results == [1000, *[n * 10 for n in range(1, 8)]]
    assert recorder.batches[0] == [("k0", 100)]
    assert sorted(recorder.batches[1]) == sorted(others)
    assert group.batches == 2 and group.items == 8


def test_a_batch_holds_one_item_per_key_and_the_rest_wait_for_the_next() -> None:
    recorder = Recorder()
    group: GroupCommit[tuple[str, int], int] = GroupCommit(recorder.run, key=lambda i: i[0])
    others = [("a", 1), ("a", 2), ("b", 3), ("a", 4)]
    results = _submit_while_first_batch_runs(group, recorder, ("z", 9), others)
    assert results == [90, 10, 20, 30, 40]
    for batch in recorder.batches:
        keys = [key for key, _value in batch]
        assert len(keys) == len(set(keys))
    assert [item for batch in recorder.batches for item in batch if item[0] == "a"] == [
        ("a", 1), ("a", 2), ("a", 4)]


def test_a_refused_item_is_raised_to_its_caller_only() -> None:
    recorder = Recorder()
    group: GroupCommit[tuple[str, int], int] = GroupCommit(recorder.run, key=lambda i: i[0])
    results = _submit_while_first_batch_runs(group, recorder, ("k0", 1),
                                             [("k1", 2), ("k2", 0), ("k3", 3)])
    assert results[:2] == [10, 20] and results[3] == 30
    assert isinstance(results[2], ValueError) and str(results[2]) == "k2 refused"


def test_when_a_batch_fails_each_item_is_run_alone_and_only_the_bad_one_fails() -> None:
    recorder = Recorder()
    group: GroupCommit[tuple[str, int], int] = GroupCommit(recorder.run, key=lambda i: i[0])
    results = _submit_while_first_batch_runs(group, recorder, ("k0", 1),
                                             [("k1", 2), ("k2", -1), ("k3", 3)])
    assert results[:2] == [10, 20] and results[3] == 30
    assert results[2] == -10  # alone, the item that broke the batch runs like any other
    alone = [batch for batch in recorder.batches if len(batch) == 1]
    assert sorted(alone)[1:] == sorted([[("k1", 2)], [("k2", -1)], [("k3", 3)]])


def test_a_batch_runner_that_raises_for_a_single_item_raises_to_that_caller() -> None:
    def run(items: Sequence[int]) -> list[int]:
        raise RuntimeError("database unavailable")

    group: GroupCommit[int, int] = GroupCommit(run, key=lambda i: i)
    with pytest.raises(RuntimeError, match="database unavailable"):
        group.submit(1)
    # The lead was handed back: the next caller is served, not stuck.
    with pytest.raises(RuntimeError, match="database unavailable"):
        group.submit(2)


def test_many_callers_all_get_their_own_result() -> None:
    seen: list[int] = []
    lock = threading.Lock()

    def run(items: Sequence[int]) -> list[int]:
        with lock:
            seen.extend(items)
        return [item * 2 for item in items]

    group: GroupCommit[int, int] = GroupCommit(run, key=lambda i: i, max_batch=5)
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(group.submit, range(400)))
    assert results == [n * 2 for n in range(400)]
    assert sorted(seen) == list(range(400))
    assert group.items == 400

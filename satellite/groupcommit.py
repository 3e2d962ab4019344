"""Group commit: concurrent callers' items recorded together, one transaction per batch.

A caller queues its item. If no batch is being written, it leads: it takes every queued item
(at most `max_batch`, at most one per key), runs them as one batch, wakes their callers, and
goes on until its own item is recorded; then the oldest waiting caller leads. The others
just wait to be woken. Each caller gets its outcome only after the batch's transaction
committed, so an answer never outruns its data.

Before taking a batch the leader lets the process's other threads run (a few yields of the
interpreter lock, as long as each one brought more items): requests being parsed or verified
join this batch instead of waiting for the next one, so a batch's statements and commit are
shared by more items. A leader alone returns from its yield at once.

If a batch fails as a whole (a database error, a deadlock, a bug), none of it was committed:
each of its items is then run alone, so one bad item costs the others nothing.
"""

from __future__ import annotations

import _thread
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable, Sequence
from typing import TYPE_CHECKING, Generic, TypeVar

if TYPE_CHECKING:
    from satellite.uow import Database, UnitOfWork

# How often a leader yields before taking a batch (see the module's docstring).
_YIELDS = 8

Item = TypeVar("Item")
Result = TypeVar("Result")


class _Slot(Generic[Item, Result]):
    """One caller's item. Its caller waits on `_asleep`, a lock held from the start and
    released once to wake it: one call each way, cheaper than an Event's condition."""

    __slots__ = ("_asleep", "done", "item", "key", "lead", "outcome")

    def __init__(self, item: Item, key: Hashable) -> None:
        self.item = item
        self.key = key
        self.outcome: Result | Exception | None = None
        self.done = False
        self.lead = False
        self._asleep = _thread.allocate_lock()
        self._asleep.acquire()

    def wait(self) -> None:
        self._asleep.acquire()

    def wake(self) -> None:
        """Wake the waiting caller; called once per slot."""
        self._asleep.release()


class GroupCommit(Generic[Item, Result]):
    def __init__(self, run: Callable[[Sequence[Item]], Sequence[Result | Exception]],
                 key: Callable[[Item], Hashable], max_batch: int = 64) -> None:
        """`run` records a batch in one transaction; items of one batch have distinct keys."""
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._run = run
        self._key = key
        self._max_batch = max_batch
        self._queue: deque[_Slot[Item, Result]] = deque()
        self._lock = threading.Lock()
        self._leading = False
        self.batches = 0
        self.items = 0

    def submit(self, item: Item) -> Result:
        """Record `item` with whatever else is queued; return its result or raise its refusal.

        The batch runner gives one outcome per item, in order: a result, or the exception that
        refuses the item (raised here, to its caller only; it does not abort the batch).
        """
        slot: _Slot[Item, Result] = _Slot(item, self._key(item))
        with self._lock:
            self._queue.append(slot)
            slot.lead = not self._leading
            self._leading = True
        if not slot.lead:
            # Woken when a batch recorded the item, or to lead the next batches.
            slot.wait()
        if slot.lead:
            self._lead(slot)
        outcome = slot.outcome
        if isinstance(outcome, Exception):
            raise outcome
        return outcome  # type: ignore[return-value]

    def _lead(self, own: _Slot[Item, Result]) -> None:
        """Run batches until `own` is recorded, then pass the lead to the oldest waiting item.

        One leader at a time; callers whose item was recorded return without taking a turn.
        """
        try:
            while not own.done:
                self._gather()
                self._run_batch(self._take())
        finally:
            with self._lock:
                following = self._queue[0] if self._queue else None
                self._leading = following is not None
            if following is not None:
                following.lead = True
                following.wake()

    def _gather(self) -> None:
        """Yield to the other threads while that brings more items (at most _YIELDS times)."""
        queued = -1
        for _ in range(_YIELDS):
            if len(self._queue) == queued:
                return
            queued = len(self._queue)
            time.sleep(0)

    def _take(self) -> list[_Slot[Item, Result]]:
        """The oldest queued items with distinct keys; the rest wait for the next batch."""
        batch: list[_Slot[Item, Result]] = []
        keys: set[Hashable] = set()
        later: list[_Slot[Item, Result]] = []
        with self._lock:
            while self._queue and len(batch) < self._max_batch:
                slot = self._queue.popleft()
                (later if slot.key in keys else batch).append(slot)
                keys.add(slot.key)
            self._queue.extendleft(reversed(later))
        return batch

    def _run_batch(self, batch: list[_Slot[Item, Result]]) -> None:
        self.batches += 1
        self.items += len(batch)
        try:
            outcomes = self._run([slot.item for slot in batch])
            if len(outcomes) != len(batch):
                raise RuntimeError(f"a batch of {len(batch)} gave {len(outcomes)} outcomes")
        except BaseException as exc:
            if not isinstance(exc, Exception):
                # Interrupted: nobody waits for an item that will never be run.
                for slot in batch:
                    slot.outcome, slot.done = RuntimeError("interrupted"), True
                    slot.wake()
                raise
            if len(batch) == 1:
                outcomes = [exc]
            else:
                # Nothing of the batch was committed: each item gets its own transaction.
                for slot in batch:
                    self._run_batch([slot])
                return
        for slot, outcome in zip(batch, outcomes, strict=True):
            slot.outcome, slot.done = outcome, True
            slot.wake()


class BatchWriter(Generic[Item, Result]):
    """Items of this process written by group commit: each batch is one unit of work of `db`,
    `write(uow, items)` giving one outcome per item, committed before any caller hears it."""

    def __init__(self, db: Database,
                 write: Callable[[UnitOfWork, Sequence[Item]], Sequence[Result | Exception]],
                 key: Callable[[Item], Hashable], max_batch: int = 64) -> None:
        self._db = db
        self._write = write
        self._group: GroupCommit[Item, Result] = GroupCommit(self._run, key=key,
                                                             max_batch=max_batch)

    def submit(self, item: Item) -> Result:
        """Write one item with whatever else is queued; return its result or raise its refusal."""
        return self._group.submit(item)

    @property
    def batches(self) -> tuple[int, int]:
        """(batches, items) written so far by this process."""
        return self._group.batches, self._group.items

    def _run(self, items: Sequence[Item]) -> Sequence[Result | Exception]:
        with self._db.uow() as uow:
            outcomes = self._write(uow, items)
            uow.commit()
        return outcomes

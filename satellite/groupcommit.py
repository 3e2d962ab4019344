"""Group commit: concurrent callers' items recorded together, one transaction per batch.

A caller queues its item. If no batch is being written, it leads: it takes every queued item
(at most `max_batch`, at most one per key), runs them as one batch, wakes their callers, and
goes on until its own item is recorded; then the oldest waiting caller leads. The others
just wait to be woken. Each caller gets its outcome only after the batch's transaction
committed, so an answer never outruns its data.

If a batch fails as a whole (a database error, a deadlock, a bug), none of it was committed:
each of its items is then run alone, so one bad item costs the others nothing.

A caller may announce its item before it has it (`expect`, while it still reads and parses a
request): a leader about to take a batch then waits for announced items, at most `linger`
seconds, as PostgreSQL's commit_delay does for its siblings. A batch costs about the same
whatever its size, so on a busy server a slightly later, larger batch serves more callers
with the same work; an idle server never waits, as nothing is announced.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Hashable, Sequence
from typing import Any, Generic, TypeVar

Item = TypeVar("Item")
Result = TypeVar("Result")


class _Slot(Generic[Item, Result]):
    __slots__ = ("done", "item", "key", "lead", "outcome", "woken")

    def __init__(self, item: Item, key: Hashable) -> None:
        self.item = item
        self.key = key
        self.outcome: Result | Exception | None = None
        self.done = False
        self.lead = False
        self.woken = threading.Event()


class Arrival:
    """An item announced to a GroupCommit: submitted with it, or withdrawn (idempotent)."""

    __slots__ = ("_group", "pending")

    def __init__(self, group: GroupCommit[Any, Any]) -> None:
        self._group = group
        self.pending = True

    def withdraw(self) -> None:
        """The announced item will not come (the request was refused before it)."""
        with self._group._lock:
            self._group._arrive(self)


class GroupCommit(Generic[Item, Result]):
    def __init__(self, run: Callable[[Sequence[Item]], Sequence[Result | Exception]],
                 key: Callable[[Item], Hashable], max_batch: int = 64,
                 linger: float = 0.0) -> None:
        """`run` records a batch in one transaction; items of one batch have distinct keys.

        `linger`: how long, at most, a leader waits for announced items (seconds).
        """
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        if linger < 0:
            raise ValueError("linger must not be negative")
        self._run = run
        self._key = key
        self._max_batch = max_batch
        self._linger = linger
        self._queue: deque[_Slot[Item, Result]] = deque()
        self._lock = threading.Lock()
        self._arrived = threading.Condition(self._lock)
        self._announced = 0
        self._leading = False
        self.batches = 0
        self.items = 0

    def expect(self) -> Arrival:
        """Announce an item this caller will submit soon (or withdraw)."""
        arrival = Arrival(self)
        with self._lock:
            self._announced += 1
        return arrival

    @property
    def announced(self) -> int:
        """Items announced and neither submitted nor withdrawn yet."""
        return self._announced

    def _arrive(self, arrival: Arrival) -> None:
        # Called with the lock held.
        if arrival.pending:
            arrival.pending = False
            self._announced -= 1
            self._arrived.notify_all()

    def submit(self, item: Item, arrival: Arrival | None = None) -> Result:
        """Record `item` with whatever else is queued; return its result or raise its refusal.

        The batch runner gives one outcome per item, in order: a result, or the exception that
        refuses the item (raised here, to its caller only; it does not abort the batch).
        """
        slot: _Slot[Item, Result] = _Slot(item, self._key(item))
        with self._lock:
            self._queue.append(slot)
            if arrival is not None:
                self._arrive(arrival)
            slot.lead = not self._leading
            self._leading = True
        if not slot.lead:
            # Woken when a batch recorded the item, or to lead the next batches.
            slot.woken.wait()
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
                self._run_batch(self._take())
        finally:
            with self._lock:
                following = self._queue[0] if self._queue else None
                self._leading = following is not None
            if following is not None:
                following.lead = True
                following.woken.set()

    def _take(self) -> list[_Slot[Item, Result]]:
        """The oldest queued items with distinct keys; the rest wait for the next batch."""
        batch: list[_Slot[Item, Result]] = []
        keys: set[Hashable] = set()
        later: list[_Slot[Item, Result]] = []
        with self._lock:
            if self._linger and self._announced:
                # Waiting releases the lock (and the GIL): announced callers can queue.
                deadline = time.monotonic() + self._linger
                while self._announced and len(self._queue) < self._max_batch:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._arrived.wait(remaining)
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
                    slot.woken.set()
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
            slot.woken.set()

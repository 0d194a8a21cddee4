"""Group commit: many threads' items written together, each thread still waiting for its own.

A caller hands its item to `GroupCommitter.submit` and blocks until the batch that carried it
was written (or raises what the write raised). Leader and followers, no timer: a caller that
finds no write in flight writes at once, alone; callers arriving while a write is in flight
queue up, and when it ends the first of them writes all those queued (up to `max_batch`) in one
call. At low load nothing waits; under load one write serves many callers.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

T = TypeVar("T")


class _Waiter(Generic[T]):
    __slots__ = ("error", "item", "leads", "woken")

    def __init__(self, item: T) -> None:
        self.item = item
        self.woken = threading.Event()
        self.leads = False  # woken to write the next batch, not because its own was written
        self.error: BaseException | None = None


class GroupCommitter(Generic[T]):
    """Writes submitted items with `write(batch)`, batch after batch, one write at a time."""

    def __init__(self, write: Callable[[Sequence[T]], None], *, max_batch: int) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self.write = write
        self.max_batch = max_batch
        self._lock = threading.Lock()
        self._queued: list[_Waiter[T]] = []
        self._writing = False

    @property
    def queued(self) -> int:
        """Callers waiting for a batch to be written (theirs, or the one before it)."""
        with self._lock:
            return len(self._queued)

    def submit(self, item: T) -> None:
        """Return once `item` was written with its batch; raise what writing that batch raised
        (every caller of a failed batch gets the same exception)."""
        waiter = _Waiter(item)
        with self._lock:
            self._queued.append(waiter)
            leads = not self._writing
            self._writing = True
        if not leads:
            waiter.woken.wait()
            if not waiter.leads:
                if waiter.error is not None:
                    raise waiter.error
                return
        self._write_batch(waiter)

    def _write_batch(self, leader: _Waiter[T]) -> None:
        with self._lock:
            # the leader is always first in the queue: it arrived to an idle committer, or was
            # the first to queue behind the write that just ended
            batch, self._queued = self._queued[: self.max_batch], self._queued[self.max_batch :]
        error: BaseException | None = None
        try:
            self.write([waiter.item for waiter in batch])
        except BaseException as exc:
            error = exc
        finally:
            with self._lock:
                if self._queued:
                    successor = self._queued[0]
                    successor.leads = True
                    successor.woken.set()
                else:
                    self._writing = False
            for waiter in batch:
                if waiter is not leader:
                    waiter.error = error
                    waiter.woken.set()
        if error is not None:
            raise error

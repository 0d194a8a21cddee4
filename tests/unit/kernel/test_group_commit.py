"""The group committer: a lone caller writes at once, alone; callers arriving during a write are
written together next, in batches of at most `max_batch`; each caller learns its own batch's
outcome, and a failed batch fails all of its callers and none of the next batch's."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor

import pytest

from kernel.group_commit import GroupCommitter
from tests.support.waiting import wait_until


class Gate:
    """A fake writer that records each batch (and the thread that wrote it) and holds the
    first write until `release`, so that callers queue up behind it."""

    def __init__(self, fail_batches: Sequence[int] = ()) -> None:
        self.batches: list[list[str]] = []
        self.writers: list[int] = []
        self.fail_batches = set(fail_batches)
        self.first_started = threading.Event()
        self.released = threading.Event()

    def write(self, batch: Sequence[str]) -> None:
        number = len(self.batches)
        self.batches.append(list(batch))
        self.writers.append(threading.get_ident())
        if number == 0:
            self.first_started.set()
            assert self.released.wait(10)
        if number in self.fail_batches:
            raise RuntimeError(f"batch {number} failed")

    def release(self) -> None:
        self.released.set()


def _submit_all(
    committer: GroupCommitter[str], pool: ThreadPoolExecutor, items: Sequence[str]
) -> dict[str, Future[None]]:
    return {item: pool.submit(committer.submit, item) for item in items}


def _outcome(future: Future[None]) -> str:
    error = future.exception(timeout=10)
    return "written" if error is None else str(error)


def test_a_lone_caller_writes_at_once_in_its_own_thread():
    gate = Gate()
    gate.release()
    committer = GroupCommitter(gate.write, max_batch=8)

    committer.submit("a")

    assert gate.batches == [["a"]]
    assert gate.writers == [threading.get_ident()]
    assert committer.queued == 0
    committer.submit("b")  # and again: nothing was left in flight
    assert gate.batches == [["a"], ["b"]]


def test_callers_arriving_during_a_write_are_written_together_next():
    gate = Gate()
    committer = GroupCommitter(gate.write, max_batch=8)
    with ThreadPoolExecutor(max_workers=6) as pool:
        first = pool.submit(committer.submit, "first")
        assert gate.first_started.wait(10)
        rest = _submit_all(committer, pool, [f"r{n}" for n in range(5)])
        wait_until(lambda: committer.queued == 5, timeout=10, what="five callers queued")
        assert not any(future.done() for future in rest.values())  # none written early
        gate.release()
        assert _outcome(first) == "written"
        assert {item: _outcome(future) for item, future in rest.items()} == dict.fromkeys(
            rest, "written"
        )
    assert gate.batches[0] == ["first"]
    assert len(gate.batches) == 2
    assert sorted(gate.batches[1]) == sorted(rest)


def test_a_batch_holds_at_most_max_batch_items():
    gate = Gate()
    committer = GroupCommitter(gate.write, max_batch=3)
    with ThreadPoolExecutor(max_workers=8) as pool:
        first = pool.submit(committer.submit, "first")
        assert gate.first_started.wait(10)
        rest = _submit_all(committer, pool, [f"r{n}" for n in range(7)])
        wait_until(lambda: committer.queued == 7, timeout=10, what="seven callers queued")
        gate.release()
        assert [_outcome(future) for future in [first, *rest.values()]] == ["written"] * 8
    assert [len(batch) for batch in gate.batches] == [1, 3, 3, 1]
    assert sorted(item for batch in gate.batches[1:] for item in batch) == sorted(rest)


def test_a_failed_batch_fails_every_caller_in_it_and_the_next_batch_is_written():
    gate = Gate(fail_batches=[1])
    committer = GroupCommitter(gate.write, max_batch=4)
    with ThreadPoolExecutor(max_workers=9) as pool:
        first = pool.submit(committer.submit, "first")
        assert gate.first_started.wait(10)
        rest = _submit_all(committer, pool, [f"r{n}" for n in range(8)])
        wait_until(lambda: committer.queued == 8, timeout=10, what="eight callers queued")
        gate.release()
        outcomes = {item: _outcome(future) for item, future in rest.items()}
        assert _outcome(first) == "written"
    failed, written = gate.batches[1], gate.batches[2]
    assert [len(batch) for batch in gate.batches] == [1, 4, 4]
    assert {outcomes[item] for item in failed} == {"batch 1 failed"}
    assert {outcomes[item] for item in written} == {"written"}


def test_the_leader_of_a_failed_batch_raises_too_and_the_committer_stays_usable():
    def broken(_batch: Sequence[str]) -> None:
        raise RuntimeError("no")

    committer = GroupCommitter(broken, max_batch=4)
    with pytest.raises(RuntimeError, match="no"):
        committer.submit("a")
    written: list[list[str]] = []
    committer.write = lambda batch: written.append(list(batch))
    committer.submit("b")
    assert written == [["b"]]


def test_max_batch_must_be_positive():
    with pytest.raises(ValueError, match="at least 1"):
        GroupCommitter(lambda _batch: None, max_batch=0)

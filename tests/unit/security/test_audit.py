"""The trail's group commit, over a fake database: concurrent reads' entries are inserted in one
transaction, and when that transaction fails every request of the batch gets the error it would
get alone (the database's 503, or the trail's own `Unavailable`), logged once per batch."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any

import pytest
from sqlalchemy.exc import OperationalError

from kernel.database import DatabaseUnavailable
from kernel.errors import Unavailable
from security.audit import UNAVAILABLE, AuditEvent, AuditRecord, AuditTrail
from tests.support.waiting import wait_until


class FakeSession:
    def connection(self) -> None:
        return None


class FakeDatabase:
    """Runs each unit of work with a session of no connection; the first one waits for
    `release`."""

    def __init__(self) -> None:
        self.hooks: list[Any] = []
        self.transactions = 0
        self.first_started = threading.Event()
        self.released = threading.Event()

    def run(self, work: Callable[[Any], None], *, fence: bool = True) -> None:
        assert not fence  # a user's next reads need not wait for their entry
        self.transactions += 1
        if self.transactions == 1:
            self.first_started.set()
            assert self.released.wait(10)
        work(FakeSession())


def record(n: int) -> AuditRecord:
    return AuditRecord(action="READ_CURRENT_USER", resource="user", status="success",
                       request_id=f"req-{n}")  # fmt: skip


def _trail(fail_batch: int | None, error: Exception) -> tuple[AuditTrail, list[list[str]]]:
    """A trail whose `fail_batch`-th insert (0-based) raises `error`."""
    database = FakeDatabase()
    batches: list[list[str]] = []

    def append(_session: Any, records: Sequence[AuditRecord]) -> None:
        batches.append([str(r.request_id) for r in records])
        if len(batches) - 1 == fail_batch:
            raise error

    trail = AuditTrail(database, append, keep_connection=False)  # type: ignore[arg-type]
    return trail, batches


def _concurrently(trail: AuditTrail, count: int) -> dict[str, BaseException | None]:
    """The first write holds until `count - 1` more requests queued behind it."""
    database: FakeDatabase = trail.db  # type: ignore[assignment]
    with ThreadPoolExecutor(max_workers=count) as pool:
        futures = {"req-0": pool.submit(trail.write_now, record(0))}
        assert database.first_started.wait(10)
        for n in range(1, count):
            futures[f"req-{n}"] = pool.submit(trail.write_now, record(n))
        wait_until(lambda: trail._committer.queued == count - 1, timeout=10)
        database.released.set()
        return {rid: future.exception(timeout=10) for rid, future in futures.items()}


def test_concurrent_entries_are_inserted_in_one_transaction():
    trail, batches = _trail(None, RuntimeError())
    sizes: list[int] = []
    trail.on_batch = sizes.append
    outcomes = _concurrently(trail, 6)
    assert set(outcomes.values()) == {None}
    assert batches[0] == ["req-0"]
    assert sorted(batches[1]) == [f"req-{n}" for n in range(1, 6)]
    assert trail.db.transactions == 2  # type: ignore[attr-defined]
    assert sizes == [1, 5]


def test_a_failed_batch_fails_each_of_its_requests_as_unavailable_logged_once(caplog):
    disk_full = OperationalError("INSERT INTO audit_logs", {}, Exception("disk full"))
    trail, batches = _trail(1, disk_full)
    with caplog.at_level(logging.ERROR, logger="portal.audit"):
        outcomes = _concurrently(trail, 5)
    assert outcomes["req-0"] is None
    failed = [outcomes[rid] for rid in batches[1]]
    assert len(failed) == 4
    assert all(isinstance(e, Unavailable) and e.message == UNAVAILABLE for e in failed)
    assert not any(isinstance(e, DatabaseUnavailable) for e in failed)
    assert len(caplog.records) == 1
    assert all(rid in caplog.records[0].getMessage() for rid in batches[1])


def test_a_batch_the_database_does_not_answer_is_the_databases_503_for_each_request():
    trail, batches = _trail(1, DatabaseUnavailable(retry_after_seconds=1))
    outcomes = _concurrently(trail, 4)
    assert outcomes["req-0"] is None
    assert all(isinstance(outcomes[rid], DatabaseUnavailable) for rid in batches[1])


def test_after_a_failed_batch_the_next_entry_is_written():
    trail, batches = _trail(0, RuntimeError("boom"))
    trail.db.released.set()  # type: ignore[attr-defined]
    with pytest.raises(Unavailable):
        trail.write_now(record(1))
    trail.write_now(record(2))
    assert batches == [["req-1"], ["req-2"]]


def test_an_entrys_details_are_as_the_json_column_reads_them_back():
    event = AuditEvent(record(0))
    event.details.update({"date": date(2026, 12, 4), "count": 3, "flag": True, "none": None})
    event.details[7] = uuid.UUID(int=1)  # type: ignore[index]  # a key that is not a string
    assert event.record("success").details == {
        "date": "2026-12-04", "count": 3, "flag": True, "none": None,
        "7": "00000000-0000-0000-0000-000000000001",
    }  # fmt: skip
    plain = AuditEvent(record(1))
    plain.details.update({"providerId": "p-1", "count": 2})
    assert plain.record("failure", httpStatus=404).details == {
        "providerId": "p-1", "count": 2, "httpStatus": 404,
    }  # fmt: skip

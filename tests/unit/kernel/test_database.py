"""`Database.run` retries deadlocks and lock timeouts a bounded number of times, then answers
503 (never 500); other database errors are not retried."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

from kernel.database import Database
from kernel.errors import Unavailable
from portal.web.errors import status_of


class FakeDriverError(Exception):
    pass


def _operational(code: int, message: str) -> OperationalError:
    return OperationalError("UPDATE ...", {}, FakeDriverError(code, message))


@pytest.fixture
def database() -> Database:
    # No statement is ever sent: the work functions below fail before touching the engine.
    return Database(sa.create_engine("sqlite://"))


@pytest.mark.parametrize(
    ("code", "message"),
    [(1213, "Deadlock found"), (1205, "Lock wait timeout exceeded"), (5, "database is locked")],
)
def test_lock_failures_are_retried_then_answer_503(database, code, message) -> None:
    calls = []

    def work(_session):
        calls.append(1)
        raise _operational(code, message)

    with pytest.raises(Unavailable) as raised:
        database.run(work, attempts=3)
    assert len(calls) == 3
    assert status_of(raised.value) == 503
    assert raised.value.retry_after_seconds == 1  # the translator sends Retry-After: 1


def test_a_deadlock_that_clears_is_invisible(database) -> None:
    calls = []

    def work(_session):
        calls.append(1)
        if len(calls) < 3:
            raise _operational(1213, "Deadlock found")
        return "booked"

    assert database.run(work, attempts=4) == "booked"
    assert len(calls) == 3


def test_other_operational_errors_are_not_retried(database) -> None:
    calls = []

    def work(_session):
        calls.append(1)
        raise _operational(2013, "Lost connection")

    with pytest.raises(OperationalError):
        database.run(work, attempts=4)
    assert len(calls) == 1

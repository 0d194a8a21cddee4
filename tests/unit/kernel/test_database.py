"""`Database.run` retries deadlocks and lock timeouts a bounded number of times, then answers
503 (never 500); other database errors are not retried."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

from kernel.database import Database, DatabaseUnavailable
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
        raise _operational(1146, "Table 'portal.nothing' doesn't exist")

    with pytest.raises(OperationalError):
        database.run(work, attempts=4)
    assert len(calls) == 1


@pytest.mark.parametrize(
    ("code", "message"),
    [
        (2003, "Can't connect to MySQL server"),
        (2013, "Lost connection to MySQL server during query (timed out)"),
        (2006, "MySQL server has gone away"),
    ],
)
def test_a_database_that_does_not_answer_is_503_at_once_for_a_moment(code, message) -> None:
    database = Database(sa.create_engine("sqlite://"), hold_seconds=3600)
    calls = []

    def work(_session):
        calls.append(1)
        raise _operational(code, message)

    with pytest.raises(DatabaseUnavailable) as raised:
        database.run(work, attempts=4)
    assert len(calls) == 1  # not retried: it would wait out the timeouts again
    assert status_of(raised.value) == 503
    assert "database" in raised.value.message
    # within the hold, reads, writes and the ping fail at once, without asking the database
    with pytest.raises(DatabaseUnavailable):
        database.read(work)
    with pytest.raises(DatabaseUnavailable):
        database.run(work)
    assert database.ping() is False
    assert len(calls) == 1


def test_after_the_hold_the_database_is_asked_again() -> None:
    database = Database(sa.create_engine("sqlite://"), hold_seconds=0)

    def down(_session):
        raise _operational(2013, "Lost connection to MySQL server during query")

    with pytest.raises(DatabaseUnavailable):
        database.read(down)
    assert database.read(lambda session: session.execute(sa.text("SELECT 1")).scalar()) == 1


def test_a_pool_without_a_free_connection_is_503_but_no_hold() -> None:
    database = Database(sa.create_engine("sqlite://"), hold_seconds=3600)

    def busy(_session):
        raise sa.exc.TimeoutError("QueuePool limit of size 20 overflow 20 reached")

    with pytest.raises(DatabaseUnavailable):
        database.run(busy)
    assert database.run(lambda session: "served") == "served"

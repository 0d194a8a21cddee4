"""Reads on kept connections (`kernel.kept_reads`, `Database.read` on MariaDB): only the read's
own statements, what is committed since, and connections that went away replaced."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

from kernel import kept_reads
from kernel.database import Database
from kernel.kept_reads import KeptReads
from tests.conftest import temporary_mysql_database

pytestmark = pytest.mark.mariadb

_READ = sa.text("SELECT v FROM t WHERE id = 1")


@pytest.fixture
def db() -> Iterator[Database]:
    with temporary_mysql_database("portal_kept") as url:
        database = Database.from_url(url, pool_size=2)
        with database.engine.begin() as connection:
            connection.exec_driver_sql("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20))")
            connection.exec_driver_sql("INSERT INTO t VALUES (1, 'first')")
        yield database
        database.dispose()


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _read(db: Database) -> str:
    return str(db.read(lambda session: session.execute(_READ).scalar_one()))


def _killed(db: Database, reads: KeptReads) -> Any:
    """The one free kept connection of `reads`, closed by the server (a KILL from another
    connection), as a restart or an operator would close it."""
    (kept,) = reads._free
    thread_id = kept.connection.exec_driver_sql("SELECT CONNECTION_ID()").scalar()
    with db.engine.connect() as admin:
        admin.exec_driver_sql(f"KILL CONNECTION {thread_id}")
    return kept


def _counters(connection: sa.Connection) -> dict[str, int]:
    rows = connection.exec_driver_sql(
        "SHOW SESSION STATUS WHERE Variable_name IN ('Questions', 'Com_rollback', 'Com_select')"
    ).all()
    return {name: int(value) for name, value in rows}


def test_a_read_sends_its_statement_and_nothing_else(db):
    _read(db)  # keeps a connection
    (kept,) = db._kept_reads._free  # type: ignore[union-attr]
    before = _counters(kept.connection)
    for _ in range(10):
        assert _read(db) == "first"
    after = _counters(kept.connection)
    # each read: its SELECT; no ROLLBACK, no reset (the second SHOW STATUS counts itself)
    assert after["Com_rollback"] == before["Com_rollback"]
    assert after["Com_select"] - before["Com_select"] == 10
    assert after["Questions"] - before["Questions"] == 11


def test_a_read_sees_what_was_committed_after_its_connection_was_kept(db):
    assert _read(db) == "first"
    db.run(lambda session: session.execute(sa.text("UPDATE t SET v = 'second' WHERE id = 1")))
    assert _read(db) == "second"


def test_a_kept_connection_the_server_closed_is_replaced_after_idling(db, caplog):
    clock = _Clock()
    reads = KeptReads(db.engine, clock=clock)
    work = lambda session: session.execute(_READ).scalar_one()  # noqa: E731
    assert reads.run(work, db.new_session) == "first"
    kept = _killed(db, reads)
    clock.now += kept_reads.IDLE_PING_SECONDS + 1  # idle: pinged before its next read
    with caplog.at_level("WARNING", logger="portal.db"):
        assert reads.run(work, db.new_session) == "first"
    assert reads._kept == 1 and reads._free[0] is not kept
    # invalidated, not reset: no ROLLBACK tried on the dead socket, so no traceback logged
    assert [r for r in caplog.records if r.name == "portal.db"] == []
    reads.release()


def test_a_read_on_a_kept_connection_the_server_just_closed_runs_again_from_the_pool(db):
    reads = KeptReads(db.engine)
    work = lambda session: session.execute(_READ).scalar_one()  # noqa: E731
    reads.run(work, db.new_session)
    _killed(db, reads)
    fallbacks: list[int] = []

    def fallback() -> sa.orm.Session:
        fallbacks.append(1)
        return db.new_session()

    assert reads.run(work, fallback) == "first"  # not idle: not pinged, failed, read again
    assert fallbacks == [1] and reads._kept == 0
    reads.release()


def test_a_database_error_discards_the_connection(db):
    reads = KeptReads(db.engine)
    with pytest.raises(OperationalError):
        reads.run(lambda session: session.execute(sa.text("SELECT nope FROM t")), db.new_session)
    assert reads._kept == 0 and reads._free == []
    assert reads.run(lambda session: session.execute(_READ).scalar_one(), db.new_session)


def test_connections_are_given_back_to_the_pool_when_old(db):
    clock = _Clock()
    reads = KeptReads(db.engine, clock=clock)
    work = lambda session: session.execute(_READ).scalar_one()  # noqa: E731
    reads.run(work, db.new_session)
    (first,) = reads._free
    clock.now += kept_reads.KEPT_SECONDS + 1
    reads.run(work, db.new_session)
    assert reads._kept == 1 and reads._free[0] is not first
    reads.release()
    assert reads._kept == 0


def test_reads_beyond_the_limit_use_ordinary_sessions(db):
    reads = KeptReads(db.engine, limit=1)
    fallbacks: list[int] = []

    def fallback() -> sa.orm.Session:
        fallbacks.append(1)
        return db.new_session()

    def nested(session: sa.orm.Session) -> object:
        # a second read while the only kept connection serves this one
        reads.run(lambda inner: inner.execute(_READ).scalar_one(), fallback)
        return session.execute(_READ).scalar_one()

    assert reads.run(nested, fallback) == "first"
    assert fallbacks == [1] and reads._kept == 1
    reads.release()


def test_no_more_are_kept_than_the_pools_size(db):
    assert KeptReads(db.engine).limit == 2  # pool_size=2 (and 2 overflow, left to writes)
    assert KeptReads(db.engine, limit=1).limit == 1


def test_a_domain_error_keeps_the_connection(db):
    reads = KeptReads(db.engine)

    def refused(session: sa.orm.Session) -> None:
        session.execute(_READ)
        raise LookupError("no such appointment")

    with pytest.raises(LookupError):
        reads.run(refused, db.new_session)
    assert reads._kept == 1 and len(reads._free) == 1
    reads.release()


def test_the_readiness_ping_sends_its_select_on_a_kept_connection_and_nothing_else(db):
    assert db.ping() is True  # keeps a connection
    (kept,) = db._kept_reads._free  # type: ignore[union-attr]
    before = _counters(kept.connection)
    for _ in range(10):
        assert db.ping() is True
    after = _counters(kept.connection)
    # each ping: its SELECT 1; no checkout ping, no ROLLBACK, no reset
    assert after["Com_rollback"] == before["Com_rollback"]
    assert after["Com_select"] - before["Com_select"] == 10
    assert after["Questions"] - before["Questions"] == 11


def test_the_readiness_ping_on_a_kept_connection_the_server_closed_asks_a_pooled_one(db):
    assert db.ping() is True
    assert db._kept_reads is not None
    _killed(db, db._kept_reads)
    assert db.ping() is True  # not idle: not pinged, failed, asked again from the pool
    assert db._kept_reads._free == []
    assert db.ping() is True

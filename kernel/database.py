"""Engines, sessions and units of work: the one way any code reaches the database.

Every use case owns its unit of work, declared where it is defined:

- `@writes`: the use case runs as one transaction on the primary (`Database.run`), committed on
  success, rolled back on error, and retried a bounded number of times when the database reports
  a deadlock, a lock wait timeout or (SQLite) a busy database. Reads inside it see the primary.
- `@reads`: the use case runs on a read session (`Database.read`), closed when the use case
  returns, each of its statements seeing what is committed when it runs (READ COMMITTED); on
  the replica when one is configured (DATABASE_REPLICA_URL) and `kernel.replica`'s router lets
  it (the replica is healthy, and has the current user's last write), else on the primary, on
  one of the connections kept for reads (`kernel.kept_reads`).

Callers pass the `Database` where the use case's definition takes a `Session`; a use case with
several steps (a file upload: check, store the bytes, then record them) calls `run`/`read`
itself. Handlers never open a transaction.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from kernel.errors import Unavailable
from kernel.kept_reads import KeptReads
from kernel.replica import ReplicaRouter

logger = logging.getLogger("portal.db")

T = TypeVar("T")
P = ParamSpec("P")

# MariaDB/MySQL: 1213 deadlock, 1205 lock wait timeout. SQLite: "database is locked".
_RETRYABLE_MYSQL_CODES = {1205, 1213}
# The client's codes for a server it cannot reach or that stopped answering: cannot connect
# (2002, 2003), gone away (2006), lost the connection or timed out (2013), out of sync (2014),
# lost during a system call (2055).
_UNREACHABLE_MYSQL_CODES = {2002, 2003, 2006, 2013, 2014, 2055}

DATABASE_UNAVAILABLE = "The database is not answering; please retry shortly"


class DatabaseUnavailable(Unavailable):
    """The database did not answer within its timeouts (or failed to within the last moment)."""

    default_message = DATABASE_UNAVAILABLE


@dataclass(frozen=True)
class Timeouts:
    """Bounds on every MariaDB conversation (DATABASE_*_TIMEOUT_SECONDS): establishing a
    connection, waiting for an answer, sending a query, and waiting for a free pooled connection;
    `hold` is how long after the database failed to answer calls fail at once, unasked."""

    connect: float = 3
    read: float = 5
    write: float = 5
    pool: float = 5
    hold: float = 1


def is_unreachable(exc: BaseException) -> bool:
    """True when `exc` says the database did not answer (down, stalled, connection lost), or no
    pooled connection came free in time: a 503, not a bug."""
    if isinstance(exc, sa.exc.TimeoutError):  # the pool's wait
        return True
    if not isinstance(exc, DBAPIError):
        return False
    if exc.connection_invalidated or isinstance(exc, sa.exc.InterfaceError):
        return True
    orig = exc.orig
    code = orig.args[0] if orig is not None and orig.args else None
    return code in _UNREACHABLE_MYSQL_CODES


def rowcount(result: sa.Result[Any]) -> int:
    """Rows an UPDATE or DELETE touched (its result is a cursor result)."""
    return int(cast("sa.CursorResult[Any]", result).rowcount or 0)


def is_retryable(exc: DBAPIError) -> bool:
    orig = exc.orig
    code = orig.args[0] if orig is not None and orig.args else None
    if code in _RETRYABLE_MYSQL_CODES:
        return True
    return "database is locked" in str(orig) or "database table is locked" in str(orig)


def create_db_engine(
    url: str, *, pool_size: int = 20, echo: bool = False, timeouts: Timeouts | None = None
) -> sa.Engine:
    if url.startswith("sqlite"):
        engine = sa.create_engine(
            url,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": 15},
        )
        _configure_sqlite(engine)
        return engine
    timeouts = timeouts or Timeouts()
    return sa.create_engine(
        url,
        echo=echo,
        # pymysql applies read_timeout to the handshake too: a server that accepts the TCP
        # connection and then says nothing (stopped, stalled) is given up after it.
        connect_args={
            "connect_timeout": timeouts.connect,
            "read_timeout": timeouts.read,
            "write_timeout": timeouts.write,
        },
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_timeout=timeouts.pool,
        pool_pre_ping=True,
        pool_recycle=3600,
        isolation_level="READ COMMITTED",
    )


def _configure_sqlite(engine: sa.Engine) -> None:
    """Foreign keys on, WAL for concurrent readers, and transactions that SQLAlchemy controls."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, below
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=15000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: sa.Connection) -> None:
        # A unit of work takes the write lock up front, so two writers queue instead of
        # both reading and then failing to upgrade their locks.
        mode = "IMMEDIATE" if connection.get_execution_options().get("write") else "DEFERRED"
        connection.exec_driver_sql(f"BEGIN {mode}")


class _Reachability:
    """Whether one engine's database answered lately. After it did not, calls fail at once for
    `hold` seconds (each would only wait out the timeouts again, and pile up), then the next
    one asks it again: recovery needs no restart."""

    def __init__(self, hold: float) -> None:
        self.hold = hold
        self._down_until = 0.0

    @contextmanager
    def answering(self) -> Iterator[None]:
        """Translate "the database did not answer" into `DatabaseUnavailable`."""
        retry_after = max(1, round(self.hold))
        if time.monotonic() < self._down_until:
            raise DatabaseUnavailable(retry_after_seconds=retry_after)
        try:
            yield
        except (DBAPIError, sa.exc.TimeoutError) as exc:
            if not is_unreachable(exc):
                raise
            if not isinstance(exc, sa.exc.TimeoutError):  # a busy pool is not a dead database
                self._down_until = time.monotonic() + self.hold
            raise DatabaseUnavailable(retry_after_seconds=retry_after) from exc


class TransactionHook(Protocol):
    """Joins every unit of work: adds rows before the commit (the audit trail does) and
    learns whether they were committed."""

    def before_commit(self, session: Session) -> None: ...
    def after_commit(self) -> None: ...
    def after_rollback(self) -> None: ...


class Database:
    """One per app: the engine, a session factory, and the unit-of-work runner."""

    def __init__(
        self, engine: sa.Engine, replica: sa.Engine | None = None, *, hold_seconds: float = 1.0
    ) -> None:
        self.engine = engine
        self.hooks: list[TransactionHook] = []
        self.replica = replica
        self._primary = _Reachability(hold_seconds)
        self.router = ReplicaRouter(engine, replica) if replica is not None else None
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        # Request-scoped reads (lists, search, slots) may lag a little behind on a replica.
        self._read_sessions = sessionmaker(replica or engine, expire_on_commit=False)
        self._write_sessions = sessionmaker(
            engine.execution_options(write=True), expire_on_commit=False
        )
        # MariaDB: the primary's reads on kept autocommit connections. Not SQLite's, where a
        # kept connection would hold its snapshot of the database (our BEGIN on every begin).
        self._kept_reads = KeptReads(engine) if engine.dialect.name != "sqlite" else None

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        pool_size: int = 20,
        replica_url: str | None = None,
        instrument: Callable[[sa.Engine, str], None] | None = None,
        timeouts: Timeouts | None = None,
    ) -> Database:
        """The engines for `url` (and `replica_url`); `instrument(engine, role)` may observe
        them ("primary", "replica")."""
        timeouts = timeouts or Timeouts()
        engine = create_db_engine(url, pool_size=pool_size, timeouts=timeouts)
        replica = (
            create_db_engine(replica_url, pool_size=pool_size, timeouts=timeouts)
            if replica_url
            else None
        )
        if instrument is not None:
            instrument(engine, "primary")
            if replica is not None:
                instrument(replica, "replica")
        return cls(engine, replica, hold_seconds=timeouts.hold)

    def new_session(self) -> Session:
        """A plain session on the primary, for tools and tests that manage it themselves."""
        return self._sessions()

    def read(self, work: Callable[[Session], T]) -> T:
        """Run `work` on a read session, closed after: the replica's when there is one and the
        router lets it; else, or when the replica fails, the primary's; `DatabaseUnavailable`
        when the primary does not answer."""
        if self.router is not None:
            with self._read_sessions() as session:
                try:
                    if self.router.serves(session):
                        return work(session)
                except OperationalError as exc:  # the replica is down: the primary answers
                    self.router.failed(exc)
        with self._primary.answering():
            if self._kept_reads is not None:
                return self._kept_reads.run(work, self._sessions)
            with self._sessions() as session:
                return work(session)

    def run(self, work: Callable[[Session], T], *, attempts: int = 4, fence: bool = True) -> T:
        """Run `work` in one transaction; retry it on deadlocks and lock timeouts;
        `DatabaseUnavailable` when the database does not answer. With a replica, the current
        user's next reads wait for this write (`fence=False`: they need not, as for an audit
        entry of their own)."""
        with self._primary.answering():
            return self._run(work, attempts, fence)

    def _run(self, work: Callable[[Session], T], attempts: int, fence: bool) -> T:
        for attempt in range(1, attempts + 1):
            session = self._write_sessions()
            try:
                result = work(session)
                for hook in self.hooks:
                    hook.before_commit(session)
                session.commit()
            except OperationalError as exc:
                self._rollback(session)
                if not is_retryable(exc):
                    raise
                if attempt == attempts:
                    logger.warning("giving up after %d attempts: %s", attempts, exc.orig)
                    raise Unavailable(
                        "The server is busy, please retry", retry_after_seconds=1
                    ) from exc
                time.sleep(0.01 * 2**attempt)
            except BaseException:
                self._rollback(session)
                raise
            else:
                for hook in self.hooks:
                    hook.after_commit()
                if fence and self.router is not None:
                    self.router.after_write()
                return result
            finally:
                session.close()
        raise AssertionError("unreachable")

    def _rollback(self, session: Session) -> None:
        session.rollback()
        for hook in self.hooks:
            hook.after_rollback()

    def ping(self) -> bool:
        """Whether the primary answers `SELECT 1` within the timeouts: on MariaDB on a kept read
        connection (checked as a read's is), sending that statement alone."""
        try:
            with self._primary.answering():
                if self._kept_reads is not None:
                    self._kept_reads.run_on_connection(_select_one)
                else:
                    with self.engine.connect() as connection:
                        _select_one(connection)
            return True
        except (DBAPIError, DatabaseUnavailable) as exc:
            logger.warning("database ping failed: %s", str(exc).splitlines()[0][:300])
            return False

    def dispose(self) -> None:
        self.engine.dispose()
        if self.replica is not None:
            self.replica.dispose()


def _select_one(connection: sa.Connection) -> None:
    connection.exec_driver_sql("SELECT 1")


def writes(use_case: Callable[Concatenate[Session, P], T]) -> Callable[Concatenate[Database, P], T]:
    """Declare that `use_case` runs as one unit of work on the primary (`Database.run`): it is
    defined with the transaction's session first and called with the `Database` instead."""

    def run(db: Database, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return db.run(lambda session: use_case(session, *args, **kwargs))

    functools.update_wrapper(run, use_case)
    return run


def reads(use_case: Callable[Concatenate[Session, P], T]) -> Callable[Concatenate[Database, P], T]:
    """Declare that `use_case` only reads, on a read session (`Database.read`)."""

    def read(db: Database, /, *args: P.args, **kwargs: P.kwargs) -> T:
        return db.read(lambda session: use_case(session, *args, **kwargs))

    functools.update_wrapper(read, use_case)
    return read

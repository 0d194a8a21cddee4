"""Engines, sessions and units of work: the one way any code reaches the database.

Every use case owns its unit of work, declared where it is defined:

- `@writes`: the use case runs as one transaction on the primary (`Database.run`), committed on
  success, rolled back on error, and retried a bounded number of times when the database reports
  a deadlock, a lock wait timeout or (SQLite) a busy database. Reads inside it see the primary.
- `@reads`: the use case runs on a read session (`Database.read`), closed when the use case
  returns; on the replica when one is configured (DATABASE_REPLICA_URL) and `kernel.replica`'s
  router lets it (the replica is healthy, and has the current user's last write), else on the
  primary.

Callers pass the `Database` where the use case's definition takes a `Session`; a use case with
several steps (a file upload: check, store the bytes, then record them) calls `run`/`read`
itself. Handlers never open a transaction.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, Protocol, TypeVar, cast

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from kernel.errors import Unavailable
from kernel.replica import ReplicaRouter

logger = logging.getLogger("portal.db")

T = TypeVar("T")
P = ParamSpec("P")

# MariaDB/MySQL: 1213 deadlock, 1205 lock wait timeout. SQLite: "database is locked".
_RETRYABLE_MYSQL_CODES = {1205, 1213}


def rowcount(result: sa.Result[Any]) -> int:
    """Rows an UPDATE or DELETE touched (its result is a cursor result)."""
    return int(cast("sa.CursorResult[Any]", result).rowcount or 0)


def is_retryable(exc: DBAPIError) -> bool:
    orig = exc.orig
    code = orig.args[0] if orig is not None and orig.args else None
    if code in _RETRYABLE_MYSQL_CODES:
        return True
    return "database is locked" in str(orig) or "database table is locked" in str(orig)


def create_db_engine(url: str, *, pool_size: int = 20, echo: bool = False) -> sa.Engine:
    if url.startswith("sqlite"):
        engine = sa.create_engine(
            url,
            echo=echo,
            connect_args={"check_same_thread": False, "timeout": 15},
        )
        _configure_sqlite(engine)
        return engine
    return sa.create_engine(
        url,
        echo=echo,
        pool_size=pool_size,
        max_overflow=pool_size,
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


class TransactionHook(Protocol):
    """Joins every unit of work: adds rows before the commit (the audit trail does) and
    learns whether they were committed."""

    def before_commit(self, session: Session) -> None: ...
    def after_commit(self) -> None: ...
    def after_rollback(self) -> None: ...


class Database:
    """One per app: the engine, a session factory, and the unit-of-work runner."""

    def __init__(self, engine: sa.Engine, replica: sa.Engine | None = None) -> None:
        self.engine = engine
        self.hooks: list[TransactionHook] = []
        self.replica = replica
        self.router = ReplicaRouter(engine, replica) if replica is not None else None
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        # Request-scoped reads (lists, search, slots) may lag a little behind on a replica.
        self._read_sessions = sessionmaker(replica or engine, expire_on_commit=False)
        self._write_sessions = sessionmaker(
            engine.execution_options(write=True), expire_on_commit=False
        )

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        pool_size: int = 20,
        replica_url: str | None = None,
        instrument: Callable[[sa.Engine, str], None] | None = None,
    ) -> Database:
        """The engines for `url` (and `replica_url`); `instrument(engine, role)` may observe
        them ("primary", "replica")."""
        engine = create_db_engine(url, pool_size=pool_size)
        replica = create_db_engine(replica_url, pool_size=pool_size) if replica_url else None
        if instrument is not None:
            instrument(engine, "primary")
            if replica is not None:
                instrument(replica, "replica")
        return cls(engine, replica)

    def new_session(self) -> Session:
        """A plain session on the primary, for tools and tests that manage it themselves."""
        return self._sessions()

    def read(self, work: Callable[[Session], T]) -> T:
        """Run `work` on a read session, closed after: the replica's when there is one and the
        router lets it; else, or when the replica fails, the primary's."""
        if self.router is not None:
            with self._read_sessions() as session:
                try:
                    if self.router.serves(session):
                        return work(session)
                except OperationalError as exc:  # the replica is down: the primary answers
                    self.router.failed(exc)
        with self._sessions() as session:
            return work(session)

    def run(self, work: Callable[[Session], T], *, attempts: int = 4, fence: bool = True) -> T:
        """Run `work` in one transaction; retry it on deadlocks and lock timeouts. With a
        replica, the current user's next reads wait for this write (`fence=False`: they need
        not, as for an audit entry of their own)."""
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
        try:
            with self.engine.connect() as connection:
                connection.exec_driver_sql("SELECT 1")
            return True
        except DBAPIError:
            logger.warning("database ping failed", exc_info=True)
            return False

    def dispose(self) -> None:
        self.engine.dispose()
        if self.replica is not None:
            self.replica.dispose()


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

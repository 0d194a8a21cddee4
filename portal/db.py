"""Engine, sessions and transactions.

Reads use the request's session (`Database.session()`), closed when the request ends; when a
replica is configured (DATABASE_REPLICA_URL) that session reads from it. A use case
that changes data runs as one unit of work through `Database.run(work)`: one transaction,
committed on success, rolled back on error, and retried a bounded number of times when the
database reports a deadlock, a lock wait timeout or (SQLite) a busy database. Units of work
always run on the primary, reads inside them included (a booking must see committed rows).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

import flask
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from portal.errors import ServiceUnavailable
from portal.query_metrics import instrument_engine

logger = logging.getLogger("portal.db")

T = TypeVar("T")

# MariaDB/MySQL: 1213 deadlock, 1205 lock wait timeout. SQLite: "database is locked".
_RETRYABLE_MYSQL_CODES = {1205, 1213}


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
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        # Request-scoped reads (lists, search, slots) may lag a little behind on a replica.
        self._read_sessions = sessionmaker(replica or engine, expire_on_commit=False)
        self._write_sessions = sessionmaker(
            engine.execution_options(write=True), expire_on_commit=False
        )

    @classmethod
    def from_url(cls, url: str, *, pool_size: int = 20, replica_url: str | None = None) -> Database:
        engine = create_db_engine(url, pool_size=pool_size)
        instrument_engine(engine, "primary")
        replica = None
        if replica_url:
            replica = create_db_engine(replica_url, pool_size=pool_size)
            instrument_engine(replica, "replica")
        return cls(engine, replica)

    def new_session(self) -> Session:
        return self._sessions()

    def session(self) -> Session:
        """The current request's read session (created on first use, closed at request end);
        bound to the replica when there is one."""
        session = flask.g.get("db_session")
        if session is None:
            session = flask.g.db_session = self._read_sessions()
        return session

    def run(self, work: Callable[[Session], T], *, attempts: int = 4) -> T:
        """Run `work` in one transaction; retry it on deadlocks and lock timeouts."""
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
                    raise ServiceUnavailable(
                        "The server is busy, please retry", headers={"Retry-After": "1"}
                    ) from exc
                time.sleep(0.01 * 2**attempt)
            except BaseException:
                self._rollback(session)
                raise
            else:
                for hook in self.hooks:
                    hook.after_commit()
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

    def close_request_session(self, _exc: BaseException | None = None) -> None:
        session = flask.g.pop("db_session", None)
        if session is not None:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()
        if self.replica is not None:
            self.replica.dispose()

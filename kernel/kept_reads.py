"""Read connections kept between reads, so that a read sends its own statements and nothing else.

A read session on the engine checks a connection out of the pool (a ping), runs its statements
in a transaction, and on closing sends a ROLLBACK, and the pool's reset another. A kept
connection is in autocommit instead: each statement reads what is committed when it runs, as
every statement of a READ COMMITTED transaction does, so nothing needs ending. It is pinged
only when it sat idle a while (as the pool pings at each checkout), given back to the pool after
KEPT_SECONDS, and discarded after any database error; a read that finds its kept connection
closed by the server runs again on a pooled one.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session

logger = logging.getLogger("portal.db")

T = TypeVar("T")

# At most this many of an engine's pooled connections (and no more than its pool's size, so its
# overflow stays free for writes) are kept for reads; reads beyond them use ordinary sessions.
MAX_KEPT = 8
# How long a connection is kept before it goes back to the pool (recycled, pinged as the pool's).
KEPT_SECONDS = 30.0
# A kept connection idle longer than this is pinged before its next read.
IDLE_PING_SECONDS = 1.0
# A read whose kept connection failed as lost within this time found it closed already: it runs
# again on a pooled connection. One that failed later waited for a database that did not answer.
CLOSED_WITHIN_SECONDS = 0.5


class _Kept:
    __slots__ = ("connection", "idle_since", "taken_at")

    def __init__(self, connection: sa.Connection, now: float) -> None:
        self.connection = connection
        self.taken_at = now
        self.idle_since = now


class KeptReads:
    """Up to `limit` connections of `engine` kept for reads, each serving one read at a time."""

    def __init__(
        self,
        engine: sa.Engine,
        *,
        limit: int = MAX_KEPT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.engine = engine
        # never more than the pool's size: its overflow stays free for writes
        pool_size = engine.pool.size() if isinstance(engine.pool, sa.pool.QueuePool) else limit
        self.limit = max(1, min(limit, pool_size))
        self._clock = clock
        self._free: list[_Kept] = []
        self._kept = 0  # free or serving a read
        self._lock = threading.Lock()
        event.listen(engine, "engine_disposed", lambda _engine: self.release())

    def run(self, work: Callable[[Session], T], fallback: Callable[[], Session]) -> T:
        """`work` on a session bound to a kept connection; on a `fallback()` session when all
        `limit` are busy."""

        def on_fallback() -> T:
            with fallback() as session:
                return work(session)

        return self._serve(lambda connection: _in_session(work, connection), on_fallback)

    def run_on_connection(self, work: Callable[[sa.Connection], T]) -> T:
        """`work` on a kept connection itself, for statements that need no Session (a readiness
        check); on a pooled connection when all `limit` are busy."""

        def on_fallback() -> T:
            with self.engine.connect() as connection:  # the pool's checkout pings it
                return work(connection)

        return self._serve(work, on_fallback)

    def _serve(self, work: Callable[[sa.Connection], T], fallback: Callable[[], T]) -> T:
        kept = self._take()
        if kept is None:
            return fallback()
        started = self._clock()
        try:
            result = work(kept.connection)
        except SQLAlchemyError as exc:
            self._discard(kept)
            if not _was_closed(exc, self._clock() - started):
                raise
            # The server closed it since its last read (a restart, a KILL): what the pool's
            # checkout ping would have caught. The read runs again on a pooled connection.
            return fallback()
        except BaseException:
            self._give_back(kept)
            raise
        self._give_back(kept)
        return result

    def release(self) -> None:
        """Give every free kept connection back to the pool (those serving a read go back after)."""
        with self._lock:
            free, self._free = self._free, []
            self._kept -= len(free)
        for kept in free:
            _close(kept.connection)

    def _take(self) -> _Kept | None:
        now = self._clock()
        while True:
            with self._lock:
                kept = self._free.pop() if self._free else None
                if kept is None:
                    if self._kept >= self.limit:
                        return None
                    self._kept += 1
            if kept is None:
                return self._new(now)
            if now - kept.taken_at > KEPT_SECONDS:
                self._discard(kept)
                continue
            if not self._answers(kept, now):
                # dead: nothing to reset on it (the pool invalidates a failed checkout ping too)
                kept.connection.invalidate()
                self._discard(kept)
                continue
            return kept

    def _new(self, now: float) -> _Kept | None:
        try:
            connection = self.engine.connect()  # the pool's checkout pings it
            connection.execution_options(isolation_level="AUTOCOMMIT")
            # In autocommit, SQLAlchemy's transaction sends nothing; sessions join it, and
            # never end it (join_transaction_mode="rollback_only").
            connection.begin()
        except BaseException:
            with self._lock:
                self._kept -= 1
            raise
        return _Kept(connection, now)

    def _answers(self, kept: _Kept, now: float) -> bool:
        if now - kept.idle_since <= IDLE_PING_SECONDS:
            return True
        try:
            dbapi_connection = kept.connection.connection.dbapi_connection
            return dbapi_connection is not None and bool(
                self.engine.dialect.do_ping(dbapi_connection)
            )
        except Exception:
            return False

    def _give_back(self, kept: _Kept) -> None:
        connection = kept.connection
        if connection.invalidated or not connection.in_transaction():
            self._discard(kept)  # something ended what reads rely on: start again from the pool
            return
        kept.idle_since = self._clock()
        with self._lock:
            self._free.append(kept)

    def _discard(self, kept: _Kept) -> None:
        with self._lock:
            self._kept -= 1
        _close(kept.connection)


def _in_session(work: Callable[[Session], T], connection: sa.Connection) -> T:
    # In autocommit, SQLAlchemy's transaction on the connection sends nothing; the session
    # joins it and never ends it.
    session = Session(bind=connection, join_transaction_mode="rollback_only")
    try:
        return work(session)
    finally:
        session.close()


def _was_closed(exc: SQLAlchemyError, seconds: float) -> bool:
    return (
        isinstance(exc, DBAPIError)
        and exc.connection_invalidated
        and seconds < CLOSED_WITHIN_SECONDS
    )


def _close(connection: sa.Connection) -> None:
    try:
        connection.close()  # back to the pool, which resets its isolation level
    except Exception:
        logger.warning("a kept read connection could not be closed", exc_info=True)

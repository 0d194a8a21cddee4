"""Which database a read goes to when there is a replica (DATABASE_REPLICA_URL).

Three rules, applied by `ReplicaRouter` for `Database.read`:

1. Health: the replica serves reads only while it answers and replicates within the lag bound
   (`SHOW SLAVE STATUS`: both threads running, `Seconds_Behind_Master` at most `max_lag`).
   Each process checks at most every `check_seconds`, inline in a read; a replica that fails
   the check, or fails a read (the read is then run again on the primary), is skipped until
   the next check.
2. Read-your-writes: after a unit of work committed on behalf of a user (`acting_for`), the
   primary's binlog position (`@@gtid_binlog_pos`, which includes that write) is remembered for
   the user for `FENCE_SECONDS` in a store every worker shares (`WriteFences`). The user's next
   reads wait on the replica for that position (`MASTER_GTID_WAIT`, at most `wait_seconds`)
   and read from the primary when it is not reached in time, or when the store cannot answer.
3. Everything else (unauthenticated reads, users without a recent write) reads the replica.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar, Token
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

logger = logging.getLogger("portal.db.replica")

# How long a user's reads honour their last write. Longer than any lag a usable replica has
# (max_lag plus a check interval), short enough that the store stays small.
FENCE_SECONDS = 60.0
# MariaDB: 1227 access denied (the replica's user may not run SHOW SLAVE STATUS).
_NO_PRIVILEGE = 1227

_acting_for: ContextVar[str | None] = ContextVar("portal_db_acting_for", default=None)


def acting_for(user_id: str | None) -> Token[str | None]:
    """Units of work and reads in this context are on behalf of `user_id` (the web layer sets
    it per request); returns the token for `done_acting`."""
    return _acting_for.set(user_id)


def done_acting(token: Token[str | None]) -> None:
    _acting_for.reset(token)


def current_user() -> str | None:
    return _acting_for.get()


class FenceUnknown(Exception):
    """The fence store could not answer: the caller reads from the primary."""


class WriteFences(Protocol):
    """Each user's last write's binlog position, shared by every worker, kept `ttl` seconds."""

    def remember(self, user_id: str, position: str, ttl: float) -> None: ...
    def position(self, user_id: str) -> str | None: ...  # raises FenceUnknown


class LocalFences:
    """The fences of this process only: exact for one server process (without Redis)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._fences: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def remember(self, user_id: str, position: str, ttl: float) -> None:
        now = self._clock()
        with self._lock:
            if len(self._fences) > 10_000:  # bounded memory: drop the expired ones
                self._fences = {k: v for k, v in self._fences.items() if v[1] > now}
            self._fences[user_id] = (position, now + ttl)

    def position(self, user_id: str) -> str | None:
        fence = self._fences.get(user_id)
        if fence is None or fence[1] <= self._clock():
            return None
        return fence[0]


def primary_position(engine: sa.Engine) -> str | None:
    """The primary's binlog position as a GTID list; None where there is none (SQLite, no
    binary log)."""
    if engine.dialect.name != "mysql":
        return None
    with engine.connect() as connection:
        position = connection.exec_driver_sql("SELECT @@gtid_binlog_pos").scalar()
    return str(position) if position else None


class ReplicaRouter:
    """The replica's health as this process last saw it, and the choice of engine per read."""

    def __init__(
        self,
        primary: sa.Engine,
        replica: sa.Engine,
        *,
        fences: WriteFences | None = None,
        max_lag_seconds: float = 5.0,
        check_seconds: float = 1.0,
        wait_seconds: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.primary = primary
        self.replica = replica
        self.fences: WriteFences = fences or LocalFences()
        self.max_lag_seconds = max_lag_seconds
        self.check_seconds = check_seconds
        self.wait_seconds = wait_seconds
        self._clock = clock
        self._usable = True
        self._next_check = 0.0
        self._lock = threading.Lock()
        self._has_gtids = replica.dialect.name == "mysql"
        self._checks_status = self._has_gtids

    # -- health ------------------------------------------------------------------------------

    def usable(self) -> bool:
        """Whether reads may go to the replica now (checking it first when a check is due)."""
        now = self._clock()
        if now < self._next_check:
            return self._usable
        if not self._lock.acquire(blocking=False):
            return self._usable  # another thread is checking: its answer comes soon
        try:
            self._set_usable(self._check(), reason="lag or replication check")
            self._next_check = self._clock() + self.check_seconds
        finally:
            self._lock.release()
        return self._usable

    def failed(self, exc: BaseException) -> None:
        """A read on the replica failed: skip it until the next check."""
        self._set_usable(False, reason=f"read failed: {exc}")
        self._next_check = self._clock() + self.check_seconds

    def _set_usable(self, usable: bool, reason: str) -> None:
        if usable != self._usable:
            if usable:
                logger.warning("replica back in use")
            else:
                logger.warning("replica skipped, reads go to the primary (%s)", reason)
        self._usable = usable

    def _check(self) -> bool:
        if not self._checks_status:
            return True
        try:
            with self.replica.connect() as connection:
                row = connection.exec_driver_sql("SHOW SLAVE STATUS").mappings().first()
        except DBAPIError as exc:
            if _code_of(exc) == _NO_PRIVILEGE:
                logger.warning("the replica's user may not run SHOW SLAVE STATUS: lag unchecked")
                self._checks_status = False
                return True
            return False
        if row is None:
            return True  # not a replica at all (a copy): nothing to lag behind
        return replicating_within(dict(row), self.max_lag_seconds)

    # -- per read ----------------------------------------------------------------------------

    def serves(self, session: Session) -> bool:
        """Whether this read may use the replica (`session` is bound to it): the replica is
        usable and, for a user who wrote recently, has applied that write within the wait
        bound (the wait runs on `session`)."""
        if not self.usable():
            return False
        user_id = current_user()
        if user_id is None:
            return True
        try:
            position = self.fences.position(user_id)
        except FenceUnknown:
            return False
        if position is None:
            return True  # no recent write of this user's
        if not position or not self._has_gtids:
            return False  # a write without a GTID to wait for: the primary has it
        outcome = session.execute(
            sa.text("SELECT MASTER_GTID_WAIT(:position, :seconds)"),
            {"position": position, "seconds": self.wait_seconds},
        ).scalar()
        return bool(outcome == 0)

    def after_write(self) -> None:
        """A unit of work committed: remember the primary's position for the current user."""
        user_id = current_user()
        if user_id is None:
            return
        try:
            position = primary_position(self.primary)
        except DBAPIError:
            logger.warning("could not read the primary's binlog position", exc_info=True)
            position = None
        try:
            # No position (SQLite, no binlog): an empty fence, which sends reads to the primary.
            self.fences.remember(user_id, position or "", FENCE_SECONDS)
        except FenceUnknown:
            logger.warning("could not share the write's fence: other workers may read stale")


def replicating_within(status: dict[str, Any], max_lag_seconds: float) -> bool:
    """From SHOW SLAVE STATUS: both threads running and at most `max_lag_seconds` behind."""
    running = (status.get("Slave_IO_Running"), status.get("Slave_SQL_Running")) == ("Yes", "Yes")
    lag = status.get("Seconds_Behind_Master")
    return running and lag is not None and float(lag) <= max_lag_seconds


def _code_of(exc: DBAPIError) -> Any:
    orig = exc.orig
    return orig.args[0] if orig is not None and orig.args else None

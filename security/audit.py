"""The audit trail writer: one entry for every audited request, written before its answer leaves.

While an audited request is served, a request-scoped `AuditEvent` collects who, what and from
where; the use cases add what only they know (the resource's id, a few details) with `note(...)`.
The `AuditTrail` then writes it:

- a change: `Database.run` stages the entry in the very transaction of the change, before it
  commits (`AuditTrail.hook`), so the change and its entry commit or roll back together;
- a read, or a request that changed nothing: the entry is written after the handler returns,
  before the response leaves (`write_now`);
- a failure (a rolled-back change, a refusal): the entry is written with the outcome the client
  saw, then the original error travels on.

`write_now` group-commits (`kernel.group_commit`): the entries of a process's concurrent
requests are inserted together, in one transaction of their own, and each request waits until
that transaction committed; if it fails, every request of the batch fails as it would alone.
Those transactions run on one connection the trail keeps (`_BatchConnection`: one INSERT and
one COMMIT, no checkout, ping or reset per batch); whatever goes wrong before their COMMIT
(nothing is committed then) writes the batch again as a unit of work of `Database.run`, whose
retries and answers to an absent database apply as to any other.

An entry that cannot be written turns the answer into `Unavailable`: nothing is served unaudited.
Which operations are audited, and under which action, is the spec's `x-audit` annotation; the web
layer wraps those handlers (`portal.web.audit`). The table and its hash chain are the audit
domain's (`models.audit`); the trail is given the function that inserts entries.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event as sa_event
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session

from kernel.database import Database, DatabaseUnavailable, is_retryable, is_unreachable
from kernel.errors import Unavailable
from kernel.group_commit import GroupCommitter

logger = logging.getLogger("portal.audit")

STATUSES = ("success", "failure", "denied")
UNAVAILABLE = "The audit trail cannot be written; the request was not completed"
# The most entries one group commit inserts; callers beyond it wait for the next batch.
MAX_BATCH = 64
# How long the trail keeps one connection for its batches before it takes a fresh one from
# the pool (pinged, recycled as the pool's are).
BATCH_CONNECTION_SECONDS = 30.0


@dataclass(frozen=True)
class AuditRecord:
    """What one audit entry says; the chain adds the timestamp and the hashes."""

    action: str
    resource: str
    status: str
    user_id: str | None = None
    user_role: str | None = None
    resource_id: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    request_id: str | None = None
    details: dict[str, Any] | None = None
    # The patient whose data this is (their user id); None when no patient's data is concerned.
    subject: str | None = None


# Inserts entries in the connection's transaction, in the order given.
Append = Callable[[sa.Connection, Sequence[AuditRecord]], None]


@dataclass
class AuditEvent:
    """The audit entry of the request being handled, filled in as the request goes: `who` is
    the entry so far (its status is decided when the request ends), `details` what use cases
    add."""

    who: AuditRecord
    details: dict[str, Any] = field(default_factory=dict)
    staged: bool = False
    written: bool = False

    def record(self, status: str, **extra: Any) -> AuditRecord:
        details = _json_safe({**self.details, **extra}) or None
        return replace(self.who, status=status, details=details)


# Values that read back from the JSON column as they were written.
_PLAIN = (str, int, bool, type(None))


def _json_safe(details: dict[str, Any]) -> dict[str, Any]:
    """Details as they will read back from the JSON column (dates and ids as strings), so
    the hash computed now matches the one `portal audit verify` recomputes."""
    if all(type(key) is str and type(value) in _PLAIN for key, value in details.items()):
        return details  # most entries' (ids, counts): the round trip would change nothing
    loaded: dict[str, Any] = json.loads(json.dumps(details, default=str))
    return loaded


_current: ContextVar[AuditEvent | None] = ContextVar("portal_audit_event", default=None)


def note(
    *,
    resource_id: str | None = None,
    details: dict[str, Any] | None = None,
    user_id: str | None = None,
    user_role: str | None = None,
    subject: str | None = None,
) -> None:
    """Attach what only the use case knows (the resource's id, the patient whose data it is, a
    few details, or, at login, who the caller turned out to be) to the current request's audit
    entry. Use cases note the subject as soon as they have the row, before any refusal, so a
    denied request still names whose data was asked for."""
    event = _current.get()
    if event is None:
        return
    event.who = replace(
        event.who,
        resource_id=event.who.resource_id if resource_id is None else str(resource_id),
        user_id=event.who.user_id if user_id is None else str(user_id),
        user_role=event.who.user_role if user_role is None else str(user_role),
        subject=event.who.subject if subject is None else str(subject),
    )
    if details:
        event.details.update(details)


@contextmanager
def recording(event: AuditEvent) -> Iterator[AuditEvent]:
    """Make `event` the current request's entry for the duration of the block."""
    token = _current.set(event)
    try:
        yield event
    finally:
        _current.reset(token)


@contextmanager
def detached() -> Iterator[None]:
    """Run a transaction that must not carry the current request's entry (the entry's own
    write, a seal of the chain)."""
    token = _current.set(None)
    try:
        yield
    finally:
        _current.reset(token)


class _TransactionHook:
    """Joins every unit of work of the `Database` (see `AuditTrail`)."""

    def __init__(self, trail: AuditTrail) -> None:
        self.trail = trail

    def before_commit(self, session: Session) -> None:
        event = _current.get()
        if event is None or event.written:
            return
        try:
            self.trail.append(session.connection(), [event.record("success")])
        except SQLAlchemyError as exc:
            if isinstance(exc, DBAPIError) and is_retryable(exc):
                raise  # Database.run retries the whole unit of work
            if is_unreachable(exc):
                raise  # Database.run answers DatabaseUnavailable: the database, not the trail
            logger.exception("audit entry could not be staged (request %s)", event.who.request_id)
            raise Unavailable(UNAVAILABLE) from exc
        event.staged = True

    def after_commit(self) -> None:
        event = _current.get()
        if event is not None and event.staged:
            event.staged, event.written = False, True

    def after_rollback(self) -> None:
        event = _current.get()
        if event is not None:
            event.staged = False


class _BatchConnection:
    """The one primary connection a trail's batches are written on, one batch at a time (the
    group committer writes one at a time). Kept between batches for at most
    BATCH_CONNECTION_SECONDS, dropped after any failure (the next batch goes through
    `Database.run`, and only a batch that `Database.run` wrote takes a new one), and given
    back when the engine is disposed."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self._connection: sa.Connection | None = None
        self._taken_at = 0.0
        self._usable = False  # until `Database.run` wrote a batch: it knows if the database answers
        self._lock = threading.Lock()  # `release` may come from another thread
        sa_event.listen(engine, "engine_disposed", lambda _engine: self.release())

    def write(self, append: Append, records: Sequence[AuditRecord]) -> bool:
        """Insert and commit `records`: True once committed, False when nothing was committed
        (not tried, or failed before the COMMIT: the caller writes them another way); raises
        when the COMMIT itself failed (whether it took effect is unknown)."""
        with self._lock:
            if not self._usable:
                return False
            try:
                connection = self._connection_now()
                append(connection, records)
            except Exception:
                self._drop()
                return False
            try:
                connection.commit()
            except BaseException:
                self._drop()
                raise
            return True

    def works(self) -> None:
        """The database just committed a batch of this trail: use the kept connection again."""
        self._usable = True

    def release(self) -> None:
        """Give the connection back to the pool."""
        with self._lock:
            self._drop(usable=self._usable)

    def _connection_now(self) -> sa.Connection:
        now = time.monotonic()
        if self._connection is not None and now - self._taken_at > BATCH_CONNECTION_SECONDS:
            self._drop(usable=True)
        if self._connection is None:
            self._connection = self.engine.connect()
            self._taken_at = now
        return self._connection

    def _drop(self, *, usable: bool = False) -> None:
        """Let go of the connection; after a failure (`usable` false) it is discarded, not
        pooled: what the failed batch began never reaches another caller."""
        connection, self._connection, self._usable = self._connection, None, usable
        if connection is None:
            return
        try:
            if not usable:
                connection.invalidate()
            connection.close()
        except Exception:
            logger.warning("the audit trail's connection could not be closed", exc_info=True)


class AuditTrail:
    """Writes the entries of one app's requests into its database, with `append`;
    `on_batch(n)` learns the size of each group commit. `keep_connection=False` writes every
    batch through `Database.run` (for a `Database` without an engine, in tests)."""

    def __init__(
        self,
        db: Database,
        append: Append,
        *,
        on_batch: Callable[[int], None] | None = None,
        keep_connection: bool = True,
    ) -> None:
        self.db = db
        self.append = append
        self.on_batch = on_batch
        self._committer = GroupCommitter(self._write_batch, max_batch=MAX_BATCH)
        self._connection = _BatchConnection(db.engine) if keep_connection else None
        db.hooks.append(_TransactionHook(self))

    def write_now(self, record: AuditRecord) -> None:
        """Write one entry, committed with those of concurrent requests, before returning;
        `DatabaseUnavailable` or `Unavailable` if that is impossible."""
        self._committer.submit(record)

    def close(self) -> None:
        """Give back the connection the trail keeps for its batches."""
        if self._connection is not None:
            self._connection.release()

    def _write_batch(self, records: Sequence[AuditRecord]) -> None:
        """One transaction inserting `records`; what fails it fails each of their requests."""
        try:
            with detached():
                if not self._write_on_kept_connection(records):
                    # nothing their users read back: their next reads need not wait for it
                    self.db.run(
                        lambda session: self.append(session.connection(), records), fence=False
                    )
                    if self._connection is not None:
                        self._connection.works()
        except DatabaseUnavailable:
            # each request's own answer says so; no stack trace per batch of an outage
            logger.warning("audit entries not written: the database does not answer (requests %s)",
                           _request_ids(records))  # fmt: skip
            raise
        except Exception as exc:
            logger.exception("audit entries could not be written (requests %s)",
                             _request_ids(records))  # fmt: skip
            raise Unavailable(UNAVAILABLE) from exc
        if self.on_batch is not None:
            try:
                self.on_batch(len(records))
            except Exception:  # the entries are committed: a metric must not fail the requests
                logger.exception("the audit batch's size could not be recorded")

    def _write_on_kept_connection(self, records: Sequence[AuditRecord]) -> bool:
        if self._connection is None:
            return False
        try:
            return self._connection.write(self.append, records)
        except (DBAPIError, sa.exc.TimeoutError) as exc:  # the COMMIT failed
            if is_unreachable(exc):
                raise DatabaseUnavailable(retry_after_seconds=1) from exc
            raise

    def finish(self, event: AuditEvent, status: str, **details: Any) -> None:
        """Write `event` with its outcome unless a committed change already carried it."""
        if status != "success" or not event.written:
            self.write_now(event.record(status, **details))


def _request_ids(records: Sequence[AuditRecord]) -> str:
    return ", ".join(str(record.request_id) for record in records)

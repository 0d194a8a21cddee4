"""Auditing every API operation, in one place, driven by the spec's `x-audit` annotations.

The app factory wraps each annotated handler with `audited`. While the handler runs, a
request-scoped `AuditEvent` collects who, what and from where; handlers may add the resource id
and details with `note(...)`. Then:

- a change: `Database.run` stages the entry in the very transaction of the change, before it
  commits (`AUDIT_HOOK`), so the change and its entry commit or roll back together;
- a read: the entry is written in its own transaction after the handler returns, before the
  response leaves;
- a failure (a rolled-back change, a 401, a policy's 403 as `denied`): the entry is written in
  its own transaction, then the original error travels on.

An entry that cannot be written turns the answer into 503: nothing is served unaudited.
Writing an entry is one INSERT, without waiting for any other request: `seal_now` (run by each
server process's `Sealer`, see security/audit_chain.py) hash-chains the new entries in batches.
"""

from __future__ import annotations

import functools
import json
import logging
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import flask
from connexion.context import context
from connexion.exceptions import ProblemException
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException

from portal.db import Database, is_retryable
from portal.errors import CODE_BY_STATUS, ApiError, ServiceUnavailable
from portal.runtime import services
from security.audit_chain import AuditRecord, Sealer, append, seal

logger = logging.getLogger("portal.audit")

F = TypeVar("F", bound=Callable[..., Any])

UNAVAILABLE = "The audit trail cannot be written; the request was not completed"


@dataclass
class AuditEvent:
    """The audit entry of the request being handled, filled in as the request goes: `who` is
    the entry so far (its status is decided when the request ends), `details` what handlers
    add."""

    who: AuditRecord
    details: dict[str, Any] = field(default_factory=dict)
    staged: bool = False
    written: bool = False

    def record(self, status: str, **extra: Any) -> AuditRecord:
        details = _json_safe({**self.details, **extra}) or None
        return replace(self.who, status=status, details=details)


def _json_safe(details: dict[str, Any]) -> dict[str, Any]:
    """Details as they will read back from the JSON column (dates and ids as strings), so
    the hash computed now matches the one `portal audit verify` recomputes."""
    return json.loads(json.dumps(details, default=str))


_current: ContextVar[AuditEvent | None] = ContextVar("portal_audit_event", default=None)


def note(
    *,
    resource_id: str | None = None,
    details: dict[str, Any] | None = None,
    user_id: str | None = None,
    user_role: str | None = None,
) -> None:
    """Attach what only the handler knows (the resource's id, a few details, or, at login,
    who the caller turned out to be) to the current request's audit entry."""
    event = _current.get()
    if event is None:
        return
    known = {"resource_id": resource_id, "user_id": user_id, "user_role": user_role}
    event.who = replace(event.who, **{k: str(v) for k, v in known.items() if v is not None})
    if details:
        event.details.update(details)


class AuditTransactionHook:
    """Called by `Database.run` around each commit (registered by `build_services`)."""

    def before_commit(self, session: Session) -> None:
        event = _current.get()
        if event is None or event.written:
            return
        try:
            append(session, event.record("success"))
        except SQLAlchemyError as exc:
            if isinstance(exc, DBAPIError) and is_retryable(exc):
                raise  # Database.run retries the whole unit of work
            logger.exception("audit entry could not be staged (request %s)", event.who.request_id)
            raise ServiceUnavailable(UNAVAILABLE) from exc
        event.staged = True

    def after_commit(self) -> None:
        event = _current.get()
        if event is not None and event.staged:
            event.staged, event.written = False, True

    def after_rollback(self) -> None:
        event = _current.get()
        if event is not None:
            event.staged = False


AUDIT_HOOK = AuditTransactionHook()


def write_now(record: AuditRecord) -> None:
    """Write one entry in its own transaction; 503 if that is impossible."""
    outer = _current.set(None)  # this transaction carries `record`, not the request's entry
    try:
        services().db.run(lambda session: append(session, record))
    except Exception as exc:
        logger.exception("audit entry could not be written (request %s)", record.request_id)
        raise ServiceUnavailable(UNAVAILABLE) from exc
    finally:
        _current.reset(outer)


def seal_now(db: Database) -> int:
    """Seal every committed entry into the chain now, in its own transaction (before the chain
    is read, verified or pruned); returns how many were sealed."""
    outer = _current.set(None)  # the seal's transaction carries no request entry
    try:
        return db.run(seal)
    finally:
        _current.reset(outer)


def start_sealer(db: Database, interval_seconds: float) -> Sealer:
    """This process's background sealer (servers start one per worker)."""
    return Sealer(lambda: seal_now(db), interval_seconds).start()


def _begin(action: str, resource: str) -> AuditEvent:
    token_info = (context.get("token_info") if context else None) or {}
    role = token_info.get("role")
    request = flask.request
    who = AuditRecord(
        action=action,
        resource=resource,
        status="success",  # until the request ends otherwise
        user_id=token_info.get("userId"),
        user_role=str(role).lower() if role else None,
        ip=request.remote_addr,
        user_agent=request.headers.get("User-Agent"),
        request_id=request.headers.get("X-Request-ID"),
    )
    return AuditEvent(who)


def _http_status(exc: BaseException) -> int:
    if isinstance(exc, ApiError | ProblemException):
        return int(exc.status)
    if isinstance(exc, HTTPException):
        return int(exc.code or 500)
    return 500


def _status_of(exc: BaseException) -> str:
    return "denied" if _http_status(exc) == 403 else "failure"


def _error_details(exc: BaseException) -> dict[str, Any]:
    status = _http_status(exc)
    return {"httpStatus": status, "error": CODE_BY_STATUS.get(status, "INTERNAL_SERVER_ERROR")}


def audited(handler: F, action: str, resource: str) -> F:
    """`handler`, with one audit entry written for every call, whatever its outcome."""

    @functools.wraps(handler)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        event = _begin(action, resource)
        token = _current.set(event)
        try:
            try:
                result = handler(*args, **kwargs)
            except Exception as exc:
                # Also after a committed change whose request then failed: this entry
                # records the outcome the client saw.
                write_now(event.record(_status_of(exc), **_error_details(exc)))
                raise
            if not event.written:
                write_now(event.record("success"))
            return result
        finally:
            _current.reset(token)

    return wrapper  # type: ignore[return-value]


def annotation_of(operation: dict[str, Any]) -> tuple[str, str] | None:
    """(action, resource) from an operation's `x-audit`; None for `x-audit: false`."""
    annotation = operation.get("x-audit")
    if not annotation:
        return None
    return str(annotation["action"]), str(annotation["resource"])

"""Application logs: one JSON object per line, on stderr, for log shippers.

Every record has `time`, `level`, `logger` and `message`, and `requestId` when it was logged
while serving a request; fields passed with `extra={...}` (the request line's `userId`,
`operationId`, `status`, `durationMs`) are added as they are; an exception adds its stack trace
as `exception` (logs only: never in a response).
"""

from __future__ import annotations

import json
import logging
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

current_request_id: ContextVar[str | None] = ContextVar("portal_request_id", default=None)
# What the layers below note for the request's one log line (the error an answer carries),
# a dict shared by the contexts copied from the request's (Flask's worker thread included).
current_request_notes: ContextVar[dict[str, Any] | None] = ContextVar(
    "portal_request_notes", default=None
)


def note_on_request_line(**fields: Any) -> None:
    """Add fields to the current request's log line (nothing outside a request)."""
    notes = current_request_notes.get()
    if notes is not None:
        notes.update(fields)


NO_REQUEST_ID = "-"  # the request id of records logged outside a request


def install_request_id_logging() -> None:
    """Give every log record a `request_id` (`-` outside a request), so any log format, any
    handler and any logger can show it (`%(request_id)s`). Idempotent."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "adds_request_id", False):
        return

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        record.request_id = current_request_id.get() or NO_REQUEST_ID
        return record

    factory.adds_request_id = True  # type: ignore[attr-defined]  # a marker on the function object
    logging.setLogRecordFactory(factory)


# Attributes every LogRecord has; anything else on a record came from `extra=` and is logged.
_STANDARD_ATTRIBUTES = frozenset(
    vars(logging.LogRecord("", 0, "", 0, "", None, None)).keys()
    | {"message", "asctime", "color_message"}  # uvicorn's ANSI-coloured copy of the message
    | {"request_id"}  # written as requestId, below
)


# What `json.dumps(entry, default=str, separators=(",", ":"))` would build for every line.
_ENCODER = json.JSONEncoder(default=str, separators=(",", ":"))


class JsonFormatter(logging.Formatter):
    """Formats a record as one line of JSON."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", NO_REQUEST_ID)
        if request_id != NO_REQUEST_ID:
            entry["requestId"] = request_id
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRIBUTES and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return _ENCODER.encode(entry)


QUIET_PER_REQUEST_LOGGERS = ("connexion", "flask-limiter", "flask_limiter")


def configure_logging(level: str = "info", *, json_format: bool = True) -> None:
    """Route the root logger (and uvicorn's) to stderr in JSON; called once per process."""
    install_request_id_logging()  # the text format below names %(request_id)s
    handler = logging.StreamHandler(sys.stderr)
    if json_format:
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error"):
        # uvicorn installs its own text handlers; let its records reach ours instead.
        uvicorn_logger = logging.getLogger(name)
        uvicorn_logger.handlers[:] = []
        uvicorn_logger.propagate = True
    # One line per request, ours (portal.request): uvicorn's access line would repeat it with
    # the query string, and the libraries' per-request notes (connexion's "No auth provided",
    # flask-limiter's breaches) are fields of that line.
    access = logging.getLogger("uvicorn.access")
    access.handlers[:] = []
    access.propagate = False
    for name in QUIET_PER_REQUEST_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)

"""SQL statement timing: every statement's duration goes to the
`portal_db_query_duration_seconds` histogram; statements slower than a second are logged with
their text only, never their parameters (they may hold PHI)."""

from __future__ import annotations

import logging
import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event

from adapters import metrics

logger = logging.getLogger("portal.db.slow")

SLOW_QUERY_SECONDS = 1.0
_STARTED = "portal_query_started"


def instrument_engine(
    engine: sa.Engine, database: str, *, slow_seconds: float = SLOW_QUERY_SECONDS
) -> None:
    """Time every statement `engine` runs; `database` ("primary", "replica") labels them."""

    @event.listens_for(engine, "before_cursor_execute")
    def _before(
        _conn: sa.Connection, _cursor: Any, _stmt: str, _params: Any, context: Any, _many: bool
    ) -> None:
        if context is not None:
            setattr(context, _STARTED, time.perf_counter())

    @event.listens_for(engine, "after_cursor_execute")
    def _after(
        _conn: sa.Connection, _cursor: Any, statement: str, _params: Any, context: Any, _m: bool
    ) -> None:
        started = getattr(context, _STARTED, None) if context is not None else None
        if started is None:
            return
        elapsed = time.perf_counter() - started
        metrics.record_query(metrics.statement_kind(statement), database, elapsed)
        if elapsed > slow_seconds:
            log_slow_query(statement, database, elapsed)


def log_slow_query(statement: str, database: str, seconds: float) -> None:
    logger.warning(
        "slow query",
        extra={
            "statement": " ".join(statement.split()),
            "database": database,
            "durationMs": round(seconds * 1000, 1),
        },
    )

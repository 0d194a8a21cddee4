"""The connection the trail keeps for its group commits, on SQLite and MariaDB: batches after
the first reuse it (no checkout each), a connection that died between batches costs the client
nothing (the batch is written through `Database.run`), and a COMMIT that fails on it fails the
request with the database's 503, its entry not written, and the next one written again."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.exc import OperationalError

from kernel.database import DatabaseUnavailable
from models.audit.tables import AuditLog
from portal.runtime import Services
from security.audit import AuditRecord


def _record(request_id: str) -> AuditRecord:
    return AuditRecord(
        action="READ_CURRENT_USER", resource="users", status="success", request_id=request_id
    )


def _written(services: Services, request_id: str) -> int:
    with services.db.engine.connect() as connection:
        return int(
            connection.scalar(
                sa.select(sa.func.count())
                .select_from(AuditLog)
                .where(AuditLog.request_id == request_id)
            )
            or 0
        )


@pytest.fixture
def checkouts(services: Services) -> Iterator[list[Any]]:
    """The DBAPI connections the primary's pool hands out, as they are handed out."""
    taken: list[Any] = []

    def checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        taken.append(dbapi_connection)

    event.listen(services.db.engine, "checkout", checkout)
    yield taken
    event.remove(services.db.engine, "checkout", checkout)


def _kept_connection(services: Services, checkouts: list[Any]) -> Any:
    """Write until a batch takes no connection from the pool: the trail then writes on the one
    it keeps; that connection's DBAPI object."""
    trail = services.audit_trail
    trail.close()  # whatever an earlier test left, the next batches take a connection afresh
    for _ in range(3):  # through Database.run (until one did), take one to keep, keep it
        before = len(checkouts)
        trail.write_now(_record(f"warm-{uuid.uuid4()}"))
        if len(checkouts) == before:
            return checkouts[-1]
    raise AssertionError("every batch took a connection from the pool")


def test_batches_reuse_the_kept_connection(services: Services, checkouts: list[Any]):
    _kept_connection(services, checkouts)
    before = len(checkouts)
    ids = [f"kept-{uuid.uuid4()}" for _ in range(5)]
    for request_id in ids:
        services.audit_trail.write_now(_record(request_id))
    assert len(checkouts) == before  # no checkout, ping or reset per batch
    assert [_written(services, request_id) for request_id in ids] == [1] * 5  # committed


def test_a_kept_connection_that_died_costs_the_client_nothing(
    services: Services, checkouts: list[Any]
):
    kept = _kept_connection(services, checkouts)
    if services.db.engine.dialect.name == "mysql":
        with services.db.engine.connect() as admin:  # as a restart or wait_timeout would
            admin.exec_driver_sql(f"KILL {kept.thread_id()}")
    else:
        kept.close()
    request_id = f"after-death-{uuid.uuid4()}"
    services.audit_trail.write_now(_record(request_id))
    assert _written(services, request_id) == 1  # once: the failed INSERT committed nothing
    following = f"following-{uuid.uuid4()}"
    services.audit_trail.write_now(_record(following))
    assert _written(services, following) == 1


def test_a_failed_commit_on_the_kept_connection_is_the_databases_503(
    services: Services, checkouts: list[Any]
):
    _kept_connection(services, checkouts)
    failures = [OperationalError("COMMIT", {}, Exception(2013, "Lost connection"))]

    def commit(_connection: sa.Connection) -> None:
        if failures:
            raise failures.pop()

    event.listen(services.db.engine, "commit", commit)
    try:
        request_id = f"lost-commit-{uuid.uuid4()}"
        with pytest.raises(DatabaseUnavailable):
            services.audit_trail.write_now(_record(request_id))
    finally:
        event.remove(services.db.engine, "commit", commit)
    assert _written(services, request_id) == 0  # rolled back: the request was not served
    following = f"following-{uuid.uuid4()}"
    services.audit_trail.write_now(_record(following))
    assert _written(services, following) == 1

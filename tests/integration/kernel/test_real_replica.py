"""DATABASE_REPLICA_URL against a real replica: a private MariaDB primary and its GTID replica
(tests/support/mariadb.py), the replica read-only.

Which server answered a read is told by a mark only the replica holds: patient1's and
patient2's first name, changed on the replica with the binary log off (so replication neither
carries nor minds it). `/api/auth/me` reads through `Database.read`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
import time_machine

import models
from portal.runtime import Services, build_services
from portal.web.app import create_app
from tests.conftest import (
    DEMO_PASSWORD,
    AuthHeaders,
    Backend,
    make_settings,
    prepare_backend,
    redis_url_or_skip,
)
from tests.support.appointments import NEXT_WEDNESDAY, NOON, booking
from tests.support.mariadb import ReplicationPair
from tests.support.ports import free_ports
from tests.support.waiting import wait_until

pytestmark = pytest.mark.mariadb

APP_USER = "portal_app"  # no global privilege: the replica's read_only stops its writes
MARK = "Replica"
PATIENTS = ("patient1@example.com", "patient2@example.com")


@pytest.fixture(autouse=True)
def frozen() -> Iterator[None]:
    with time_machine.travel(NOON, tick=False):
        yield


@pytest.fixture(scope="module")
def replicated_backend(
    replication_pair_for_session: ReplicationPair, tmp_path_factory: pytest.TempPathFactory
) -> Backend:
    """The pair's database migrated and seeded on the primary; the application's user, and
    the replica read-only."""
    pair = replication_pair_for_session
    database = pair.create_database("portal_replica_test")
    pair.primary.query(f"CREATE USER IF NOT EXISTS '{APP_USER}'@'127.0.0.1'")
    pair.primary.query(f"GRANT ALL ON `{database}`.* TO '{APP_USER}'@'127.0.0.1'")
    # SHOW SLAVE STATUS, the replica's lag check (docs/operations.md#read-replica)
    pair.primary.query(f"GRANT REPLICA MONITOR ON *.* TO '{APP_USER}'@'127.0.0.1'")
    storage = tmp_path_factory.mktemp("storage-replica")
    backend = prepare_backend("mariadb", pair.primary.url(database), storage)
    pair.replica.query("SET GLOBAL read_only = 1")
    pair.wait_for_replica()
    return backend


@pytest.fixture
def pair(
    replication_pair: ReplicationPair, replicated_backend: Backend
) -> Iterator[ReplicationPair]:
    """The pair, its database back to the seed on both servers, the replica marked."""
    engine = sa.create_engine(replicated_backend.url)
    replicated_backend.restore(engine)
    engine.dispose()
    replication_pair.wait_for_replica()
    mark_replica(replication_pair, database_of(replicated_backend))
    yield replication_pair


def database_of(backend: Backend) -> str:
    return str(sa.engine.make_url(backend.url).database)


def mark_replica(pair: ReplicationPair, database: str) -> None:
    connection = pair.replica.connect(database)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SET SESSION sql_log_bin = 0")
            cursor.execute(
                "UPDATE users SET first_name = %s WHERE email IN %s", (MARK, list(PATIENTS))
            )
    finally:
        connection.close()


def make_app(pair: ReplicationPair, backend: Backend, **overrides: Any) -> tuple[Any, Services]:
    database = database_of(backend)
    settings = make_settings(
        pair.primary.url(database, user=APP_USER),
        backend.storage_path,
        database_replica_url=pair.replica.url(database, user=APP_USER),
        **overrides,
    )
    services = build_services(settings)
    return create_app(settings, services).test_client(), services


@pytest.fixture
def served(pair: ReplicationPair, replicated_backend: Backend) -> Iterator[Any]:
    """`served(**settings)` -> (client, auth headers) of an app on the pair."""
    started: list[Services] = []

    def serve(**overrides: Any) -> tuple[Any, AuthHeaders]:
        client, services = make_app(pair, replicated_backend, **overrides)
        started.append(services)
        return client, AuthHeaders(services)

    yield serve
    for services in started:
        services.db.dispose()


def first_name(client: Any, headers: dict[str, str]) -> str:
    response = client.get("/api/auth/me", headers=headers)
    assert response.status_code == 200, response.text
    return str(response.json()["firstName"])


def doctor_id(backend: Backend) -> str:
    engine = sa.create_engine(backend.url)
    with engine.connect() as connection:
        found = connection.scalar(
            sa.select(models.User.id).where(models.User.email == "doctor1@example.com")
        )
    engine.dispose()
    assert found is not None
    return str(found)


def listed(client: Any, headers: dict[str, str]) -> dict[str, dict[str, Any]]:
    response = client.get("/api/appointments", headers=headers, params={"limit": 100})
    assert response.status_code == 200, response.text
    return {row["id"]: row for row in response.json()["data"]}


def on_replica(pair: ReplicationPair, backend: Backend, appointment_id: str) -> Any:
    rows = pair.replica.query(
        f"SELECT status FROM `{database_of(backend)}`.appointments WHERE id = %s",
        (appointment_id,),
    )
    return rows[0] if rows else None


# -- reads go to the replica, writes never do ---------------------------------------------------


def test_request_reads_come_from_the_replica(served, pair) -> None:  # type: ignore[no-untyped-def]
    client, auth = served()
    assert first_name(client, auth(PATIENTS[0])) == MARK
    before = pair.replica.statement_counts(APP_USER)
    listed(client, auth(PATIENTS[0]))
    assert (pair.replica.statement_counts(APP_USER) - before)["select_commands"] >= 1


def test_writes_go_to_the_primary_never_to_the_read_only_replica(  # type: ignore[no-untyped-def]
    served, pair, replicated_backend
) -> None:
    client, auth = served()
    primary_before = pair.primary.statement_counts(APP_USER)
    replica_before = pair.replica.statement_counts(APP_USER)
    login = client.post("/api/auth/login", json={"email": PATIENTS[0], "password": DEMO_PASSWORD})
    assert login.status_code == 200, login.text
    # login reads the user inside its unit of work: on the primary, not the marked replica
    assert login.json()["user"]["firstName"] != MARK
    headers = auth(PATIENTS[0])
    booked = client.post(
        "/api/appointments",
        json=booking(doctor_id(replicated_backend), NEXT_WEDNESDAY, "09:00 AM"),
        headers=headers,
    )
    assert booked.status_code == 201, booked.text
    written = pair.primary.statement_counts(APP_USER) - primary_before
    assert written["update_commands"] > 0 and written["rows_inserted"] > 0
    assert (pair.replica.statement_counts(APP_USER) - replica_before)["update_commands"] == 0
    assert pair.replica.scalar("SELECT @@read_only") == 1
    pair.wait_for_replica()  # the booking reaches the replica by replication only
    assert on_replica(pair, replicated_backend, booked.json()["id"]) is not None


# -- read-your-writes ---------------------------------------------------------------------------


def test_a_patient_sees_their_booking_reschedule_and_cancel_while_the_replica_lags(  # type: ignore[no-untyped-def]
    served, pair, replicated_backend
) -> None:
    # Checked once, at the first read: the replica stays "healthy" for this process, so only
    # the read-your-writes rule can send the patient's reads to the primary.
    client, auth = served(database_replica_check_seconds=60, database_replica_wait_seconds=0.2)
    patient, other = auth(PATIENTS[0]), auth(PATIENTS[1])
    assert first_name(client, patient) == MARK
    with pair.replication_paused():
        booked = client.post(
            "/api/appointments",
            json=booking(doctor_id(replicated_backend), NEXT_WEDNESDAY, "09:00 AM"),
            headers=patient,
        )
        assert booked.status_code == 201, booked.text
        appointment_id = booked.json()["id"]
        assert on_replica(pair, replicated_backend, appointment_id) is None  # it lags
        assert listed(client, patient)[appointment_id]["status"] == "scheduled"
        assert first_name(client, patient) != MARK  # from the primary
        assert first_name(client, other) == MARK  # others still read the replica

        moved = client.put(
            f"/api/appointments/{appointment_id}/reschedule",
            json={"date": NEXT_WEDNESDAY.isoformat(), "time": "10:00 AM"},
            headers=patient,
        )
        assert moved.status_code == 200, moved.text
        assert listed(client, patient)[appointment_id]["time"] == "10:00 AM"

        cancelled = client.request(
            "DELETE",
            f"/api/appointments/{appointment_id}/cancel",
            json={"reason": "Feeling better, no longer needed"},
            headers=patient,
        )
        assert cancelled.status_code == 200, cancelled.text
        assert listed(client, patient)[appointment_id]["status"] == "cancelled"
        assert on_replica(pair, replicated_backend, appointment_id) is None
    pair.wait_for_replica()
    # caught up: the patient's reads wait for their write on the replica and are served there
    assert first_name(client, patient) == MARK
    assert listed(client, patient)[appointment_id]["status"] == "cancelled"


def test_a_write_in_one_worker_fences_the_reads_of_another(  # type: ignore[no-untyped-def]
    served, pair, replicated_backend
) -> None:
    """Two apps (two workers) share the fences through Redis."""
    shared = {
        "rate_limit_storage_url": redis_url_or_skip(),
        "rate_limit_key_prefix": f"replica-test-{id(pair)}-{pair.primary.port}",
        "database_replica_check_seconds": 60,
        "database_replica_wait_seconds": 0.2,
    }
    writer, auth = served(**shared)
    reader, _ = served(**shared)
    patient = auth(PATIENTS[0])
    assert first_name(reader, patient) == MARK
    with pair.replication_paused():
        booked = writer.post(
            "/api/appointments",
            json=booking(doctor_id(replicated_backend), NEXT_WEDNESDAY, "09:00 AM"),
            headers=patient,
        )
        assert booked.status_code == 201, booked.text
        assert booked.json()["id"] in listed(reader, patient)
        assert first_name(reader, auth(PATIENTS[1])) == MARK


# -- a replica that is down or lags is skipped, then used again ---------------------------------


def test_a_replica_that_stops_applying_is_skipped_then_used_again(served, pair) -> None:  # type: ignore[no-untyped-def]
    client, auth = served(database_replica_check_seconds=0)
    headers = auth(PATIENTS[1])
    assert first_name(client, headers) == MARK
    with pair.replication_paused():  # Seconds_Behind_Master is NULL: beyond any bound
        assert first_name(client, headers) != MARK
    pair.wait_replicating()
    assert first_name(client, headers) == MARK


def test_a_replica_that_lags_beyond_the_bound_is_skipped(served, pair) -> None:  # type: ignore[no-untyped-def]
    client, auth = served(database_replica_check_seconds=0, database_replica_max_lag_seconds=0)
    headers = auth(PATIENTS[1])
    assert first_name(client, headers) == MARK
    pair.set_replication_delay(3600)  # every event from now on waits an hour on the replica
    pair.primary.query("CREATE DATABASE IF NOT EXISTS lag_probe")
    wait_until(
        lambda: (pair.replica_status()["Seconds_Behind_Master"] or 0) >= 1,
        timeout=30,
        interval=0.1,
        what="the replica to report a lag",
    )
    assert first_name(client, headers) != MARK
    pair.set_replication_delay(0)
    pair.wait_for_replica()
    assert first_name(client, headers) == MARK


def test_a_replica_that_is_down_is_skipped_then_used_again(
    served, pair, replicated_backend
) -> None:  # type: ignore[no-untyped-def]
    client, auth = served(database_replica_check_seconds=0)
    headers = auth(PATIENTS[1])
    assert first_name(client, headers) == MARK  # its pool holds a replica connection now
    pair.replica.kill()
    assert first_name(client, headers) != MARK
    listed(client, headers)  # 200 too
    pair.start_replica()
    mark_replica(pair, database_of(replicated_backend))  # a kill may lose the last commits
    assert first_name(client, headers) == MARK


def test_a_replica_that_dies_between_checks_fails_no_read(served, pair) -> None:  # type: ignore[no-untyped-def]
    client, auth = served(database_replica_check_seconds=60)
    headers = auth(PATIENTS[1])
    assert first_name(client, headers) == MARK
    pair.replica.kill()  # still "healthy" for this process: the read itself fails over
    assert first_name(client, headers) != MARK
    pair.start_replica()


def test_without_the_fence_store_the_users_read_the_primary(served, pair) -> None:  # type: ignore[no-untyped-def]
    """Redis down: no worker can tell who wrote recently, so the users' reads go to the
    primary, and still answer."""
    (port,) = free_ports(1)
    client, auth = served(
        rate_limit_storage_url=f"redis://127.0.0.1:{port}/0", database_replica_check_seconds=60
    )
    headers = auth(PATIENTS[1])
    assert first_name(client, headers) != MARK
    before = pair.replica.statement_counts(APP_USER)
    listed(client, headers)
    assert (pair.replica.statement_counts(APP_USER) - before)["select_commands"] == 0

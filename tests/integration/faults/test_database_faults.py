"""MariaDB stalled (as under SIGSTOP) or cut (as when killed) behind a real server: requests that
need it answer 503 SERVICE_UNAVAILABLE naming the database within the bound, those that do not
keep answering, the server recovers without a restart, and no booking answered 201 is lost."""

from __future__ import annotations

import threading
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from kernel.database import DATABASE_UNAVAILABLE
from tests.integration.faults.conftest import (
    BOUND_SECONDS,
    bearer,
    login,
    through,
    timed,
    wednesday_ahead,
    with_csrf,
)
from tests.support.appointments import booking
from tests.support.waiting import wait_until

pytestmark = pytest.mark.mariadb


def doctor_id(database_url: str) -> str:
    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as connection:
            found = connection.execute(
                sa.text("SELECT id FROM users WHERE email = 'doctor1@example.com'")
            ).scalar_one()
    finally:
        engine.dispose()
    return str(found)


def slots(base_url: str, session: dict[str, Any], doctor: str) -> httpx.Response:
    return httpx.get(
        f"{base_url}/api/providers/{doctor}/available-slots",
        params={"date": wednesday_ahead().isoformat()},
        headers=bearer(session),
        timeout=60,
    )


def assert_database_503(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    error = response.json()["error"]
    assert error["code"] == "SERVICE_UNAVAILABLE"
    assert error["message"] == DATABASE_UNAVAILABLE
    assert response.headers["Retry-After"].isdigit()


def answers_again(base: str, session: dict[str, Any], doctor: str) -> None:
    """The same server answers the slots again once the database is back (each process waits
    out DATABASE_UNAVAILABLE_HOLD_SECONDS first)."""
    wait_until(
        lambda: slots(base, session, doctor).status_code == 200,
        timeout=30,
        interval=0.25,
        what="the slots answering 200 again",
    )


def test_a_stalled_database_is_a_503_in_seconds_and_the_rest_keeps_answering(
    serve, mariadb_backend, mariadb_proxy
):
    server = serve(through(mariadb_proxy, mariadb_backend.url))
    base = server.base_url
    doctor = doctor_id(mariadb_backend.url)
    session = login(base)
    assert slots(base, session, doctor).status_code == 200

    mariadb_proxy.stall()
    try:
        for _ in range(3):  # a pooled connection (ping, then a new one), then within the hold
            response, took = timed(lambda: slots(base, session, doctor))
            assert_database_503(response)
            assert took < BOUND_SECONDS
        audited, took = timed(
            lambda: httpx.get(f"{base}/api/appointments", headers=bearer(session), timeout=60)
        )
        assert_database_503(audited)  # the database, not the audit trail, is blamed
        assert took < BOUND_SECONDS
        csrf, took = timed(
            lambda: httpx.get(f"{base}/api/auth/csrf-token", headers=bearer(session), timeout=60)
        )
        assert csrf.status_code == 200, csrf.text
        assert took < BOUND_SECONDS
        live, took = timed(lambda: httpx.get(f"{base}/health?probe=liveness", timeout=60))
        assert (live.status_code, live.json()) == (200, {"status": "ok", "database": "unchecked"})
        assert took < 2
        ready, took = timed(lambda: httpx.get(f"{base}/health", timeout=60))
        assert (ready.status_code, ready.json()["database"]) == (503, "unavailable")
        assert took < BOUND_SECONDS
    finally:
        mariadb_proxy.resume()

    # no restart: the same server answers again
    answers_again(base, session, doctor)
    assert httpx.get(f"{base}/health", timeout=60).status_code == 200
    log = server.log_text()
    assert "Traceback" not in log
    assert log.count("sealing the audit chain failed") <= 1  # one line per episode


def test_a_cut_database_is_a_503_at_once_and_comes_back_without_a_restart(
    serve, mariadb_backend, mariadb_proxy
):
    server = serve(through(mariadb_proxy, mariadb_backend.url))
    base = server.base_url
    doctor = doctor_id(mariadb_backend.url)
    session = login(base)
    mariadb_proxy.cut()
    try:
        response, took = timed(lambda: slots(base, session, doctor))
        assert_database_503(response)
        assert took < BOUND_SECONDS
        assert httpx.get(f"{base}/health?probe=liveness", timeout=60).status_code == 200
    finally:
        mariadb_proxy.restore()
    answers_again(base, session, doctor)
    assert "Traceback" not in server.log_text()


def test_no_booking_answered_201_is_lost_while_the_database_comes_and_goes(
    serve, mariadb_backend, mariadb_proxy
):
    server = serve(through(mariadb_proxy, mariadb_backend.url), RATE_LIMIT_ENABLED="false")
    base = server.base_url
    doctor = doctor_id(mariadb_backend.url)
    session = login(base)
    free = slots(base, session, doctor).json()["slots"]
    assert len(free) >= 8, free
    answers: list[tuple[int, dict[str, Any], float]] = []
    stop = threading.Event()

    def book_until_stopped() -> None:
        for at in free:
            if stop.is_set():
                return
            response, took = timed(
                lambda at=at: httpx.post(
                    f"{base}/api/appointments",
                    json=booking(doctor, wednesday_ahead(), at),
                    headers=with_csrf(session),
                    timeout=60,
                )
            )
            answers.append((response.status_code, response.json(), took))
            stop.wait(0.2)

    booker = threading.Thread(target=book_until_stopped)
    booker.start()
    try:
        stop.wait(0.5)
        mariadb_proxy.stall()  # bookings in flight hang, then answer 201 or 503
        stop.wait(1.5)
        mariadb_proxy.resume()
        stop.wait(0.5)
        mariadb_proxy.cut()  # bookings in flight lose their connection
        stop.wait(0.5)
        mariadb_proxy.restore()
        stop.wait(1.0)
    finally:
        stop.set()
        booker.join(120)
    assert not booker.is_alive()

    statuses = [status for status, _, _ in answers]
    assert set(statuses) <= {201, 503}, answers
    assert 201 in statuses and max(took for _, _, took in answers) > 1  # the faults were met
    assert all(took < BOUND_SECONDS for _, _, took in answers), answers
    booked = {body["id"] for status, body, _ in answers if status == 201}
    engine = sa.create_engine(mariadb_backend.url)  # straight to MariaDB, not the proxy
    try:
        with engine.connect() as connection:
            stored = set(
                connection.execute(
                    sa.text("SELECT id FROM appointments WHERE id IN :ids").bindparams(
                        sa.bindparam("ids", expanding=True)
                    ),
                    {"ids": sorted(booked) or ["none"]},
                ).scalars()
            )
    finally:
        engine.dispose()
    assert stored == booked

"""No double booking under load: 50 simultaneous requests for one slot through real HTTP
against a running `portal serve` with several worker processes, on SQLite and on MariaDB.

Exactly one request may win (201 or 200); every other one must be told 409, and the table must
hold one live row for the slot.
"""

from __future__ import annotations

import json
import os
import threading
import urllib.error
import urllib.request
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from kernel.clock import utcnow
from models import Appointment
from portal.ops import migrate
from portal.ops.demo.seed import seed
from portal.runtime import Services, build_services
from security.tokens import TokenService
from tests.conftest import (
    DEMO_PASSWORD,
    TEST_SECRET,
    TEST_STORAGE_KEY,
    make_settings,
    temporary_mysql_database,
)
from tests.support import child_server
from tests.support.appointments import NY, live_rows_at, open_times, user_id

ATTEMPTS = 50
WORKERS = 4
PORTS = range(3100, 3200)
PATIENTS = [f"patient{n}@example.com" for n in range(1, 6)]


Call = tuple[str, str, dict[str, str], dict[str, Any] | None]


@dataclass
class RunningServer:
    base_url: str
    services: Services

    def headers(self, email: str) -> dict[str, str]:
        tokens = TokenService(TEST_SECRET, timedelta(minutes=15))
        with self.services.db.new_session() as session:
            uid = user_id(session, email)
        sid = str(uuid.uuid4())
        token = tokens.issue_access_token(
            user_id=uid, email=email, role="patient", session_id=sid, now=utcnow()
        )
        return {
            "Authorization": f"Bearer {token}",
            "X-CSRF-Token": tokens.csrf_token(sid),
            "Content-Type": "application/json",
        }


def _server_env(url: str, storage: Path) -> dict[str, str]:
    return os.environ | {
        "APP_ENV": "test",
        "DATABASE_URL": url,
        "DATABASE_POOL_SIZE": "10",
        "JWT_SECRET": TEST_SECRET,
        "STORAGE_ENCRYPTION_KEY": TEST_STORAGE_KEY,
        "RATE_LIMIT_ENABLED": "false",
        "STORAGE_PATH": str(storage),
        "LOG_LEVEL": "warning",
    }


@pytest.fixture(scope="module")
def mysql_race_database() -> Iterator[str]:
    with temporary_mysql_database("portal_race") as url:
        yield url


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("mariadb", marks=pytest.mark.mariadb)]
)
def server(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[RunningServer]:
    root = tmp_path_factory.mktemp(f"race-{request.param}")
    if request.param == "sqlite":
        url = f"sqlite:///{root / 'portal.sqlite3'}"
    else:
        url = request.getfixturevalue("mysql_race_database")
    migrate.upgrade(url)
    current = build_services(make_settings(url, root / "storage"))
    today = datetime.now(NY).date()  # the server runs on the real clock
    current.db.run(
        lambda session: seed(session, current.storage, demo_password=DEMO_PASSWORD, today=today)
    )
    try:
        with child_server.serving(
            _server_env(url, root / "storage"),
            port=child_server.free_port(PORTS),
            workers=WORKERS,
            log=root / "server.log",
        ) as child:
            running = RunningServer(child.base_url, current)
            _warm_up(running)
            yield running
    finally:
        current.db.dispose()


def _send(method: str, url: str, headers: dict[str, str], body: dict[str, Any] | None) -> int:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def _all_at_once(calls: list[Call]) -> Counter[int]:
    """Send every request from its own thread, released together by a barrier."""
    barrier = threading.Barrier(len(calls))

    def fire(call: Call) -> int:
        barrier.wait()
        return _send(*call)

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return Counter(pool.map(fire, calls))


def _warm_up(server: RunningServer) -> None:
    """Let every worker finish its lazy start-up (spec parsing, first connections) first, so
    the race is decided by the database and not by which worker happened to be ready."""
    headers = server.headers(PATIENTS[0])
    url = f"{server.base_url}/api/appointments?limit=1"
    for _ in range(3):
        calls = [("GET", url, headers, None)] * (WORKERS * 10)
        assert set(_all_at_once(calls)) == {200}


def _target(server: RunningServer, skip: int = 0) -> tuple[str, date, str]:
    """doctor1 (accepting new patients), a working day some days ahead, and a free time."""
    with server.services.db.new_session() as session:
        doctor = user_id(session, "doctor1@example.com")
        day = datetime.now(NY).date() + timedelta(days=3)
        while len(open_times(session, doctor, day)) <= skip:
            day += timedelta(days=1)
        return doctor, day, open_times(session, doctor, day)[skip]


def test_fifty_simultaneous_bookings_of_one_slot_make_one_appointment(server: RunningServer):
    doctor, day, at = _target(server)
    headers = [server.headers(email) for email in PATIENTS]
    body = {
        "providerId": doctor,
        "date": day.isoformat(),
        "time": at,
        "type": "consultation",
        "reason": "Racing for the same slot as everyone else",
    }
    url = f"{server.base_url}/api/appointments"
    outcome = _all_at_once(
        [("POST", url, headers[i % len(headers)], body) for i in range(ATTEMPTS)]
    )

    assert outcome == Counter({201: 1, 409: ATTEMPTS - 1})
    with server.services.db.new_session() as session:
        assert live_rows_at(session, doctor, day, at) == 1


def test_fifty_simultaneous_reschedules_onto_one_slot_move_one_appointment(
    server: RunningServer,
):
    doctor, day, at = _target(server, skip=1)
    with server.services.db.new_session() as session:
        owners = [user_id(session, email) for email in PATIENTS]
    # Fifty future appointments of the same provider, each at its own (date, 06:00): the
    # unique slot index only needs them distinct, and 06:00 keeps them off every real slot.
    appointments = [
        Appointment(
            patient_id=owners[i % len(owners)],
            provider_id=doctor,
            date=day + timedelta(days=1 + i),
            start_time=datetime.strptime("06:00", "%H:%M").time(),
            type="follow_up",
            status="scheduled",
            reason="Seeded for the reschedule race",
            duration=30,
        )
        for i in range(ATTEMPTS)
    ]
    server.services.db.run(lambda session: session.add_all(appointments))
    headers = {email: server.headers(email) for email in PATIENTS}
    calls = [
        (
            "PUT",
            f"{server.base_url}/api/appointments/{appointment.id}/reschedule",
            headers[PATIENTS[i % len(PATIENTS)]],
            {"date": day.isoformat(), "time": at},
        )
        for i, appointment in enumerate(appointments)
    ]
    outcome = _all_at_once(calls)

    assert outcome == Counter({200: 1, 409: ATTEMPTS - 1})
    with server.services.db.new_session() as session:
        assert live_rows_at(session, doctor, day, at) == 1
        moved = session.scalar(
            sa.select(sa.func.count(Appointment.id)).where(
                Appointment.id.in_([a.id for a in appointments]), Appointment.date == day
            )
        )
        assert moved == 1

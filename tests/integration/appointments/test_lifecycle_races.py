"""Two staff changing one appointment at once, through real HTTP against a multi-worker
`portal serve`, on SQLite and on MariaDB (the server of test_booking_races): exactly one change
wins; the others are told 409 and change nothing; one notice is written."""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import datetime, timedelta

import sqlalchemy as sa

from kernel.clock import utcnow
from models import Appointment
from models.notifications.tables import OutboxMessage
from security.tokens import TokenService
from tests.conftest import TEST_SECRET
from tests.integration.appointments.test_booking_races import (  # noqa: F401 (fixtures)
    RunningServer,
    _all_at_once,
    mysql_race_database,
    server,
)
from tests.support.appointments import NY, user_id

RACERS = 20


def staff_headers(running: RunningServer, email: str, role: str) -> dict[str, str]:
    tokens = TokenService(TEST_SECRET, timedelta(minutes=15))
    with running.services.db.new_session() as session:
        uid = user_id(session, email)
    sid = str(uuid.uuid4())
    token = tokens.issue_access_token(
        user_id=uid, email=email, role=role, session_id=sid, now=utcnow()
    )
    return {
        "Authorization": f"Bearer {token}",
        "X-CSRF-Token": tokens.csrf_token(sid),
        "Content-Type": "application/json",
    }


def _under_way(running: RunningServer, minute_offset: int) -> str:
    """An hour-long visit of patient1 with doctor1 that began 20 minutes ago (real clock): both
    check-in and a no-show are allowed now. Off the half-hour grid, so no seeded visit collides."""
    start = (datetime.now(NY) - timedelta(minutes=20)).replace(second=0, microsecond=0)
    start += timedelta(minutes=minute_offset)
    if start.minute % 30 == 0:
        start += timedelta(minutes=1)

    def add(session: sa.orm.Session) -> str:
        appointment = Appointment(
            patient_id=user_id(session, "patient1@example.com"),
            provider_id=user_id(session, "doctor1@example.com"),
            date=start.date(),
            start_time=start.time(),
            type="consultation",
            status="scheduled",
            reason="Seeded for the lifecycle race",
            duration=60,
        )
        session.add(appointment)
        session.flush()
        return appointment.id

    # a unit of work: retried while the server's workers hold SQLite's write lock
    return running.services.db.run(add)


def _outcome_in_db(running: RunningServer, appointment_id: str) -> tuple[str, int]:
    with running.services.db.new_session() as session:
        status = session.scalar(
            sa.select(Appointment.status).where(Appointment.id == appointment_id)
        )
        notices = session.scalar(
            sa.select(sa.func.count(OutboxMessage.id)).where(
                OutboxMessage.appointment_id == appointment_id,
                OutboxMessage.kind == "status_changed",
            )
        )
        return str(status), int(notices or 0)


def test_check_in_against_no_show_one_wins_the_rest_are_409(server: RunningServer):  # noqa: F811 (the imported fixture)
    appointment = _under_way(server, minute_offset=2)
    nurse = staff_headers(server, "nurse1@example.com", "nurse")
    admin = staff_headers(server, "admin@example.com", "admin")
    base = f"{server.base_url}/api/appointments/{appointment}"
    body = {"expectedStatus": "scheduled"}
    calls = [
        ("POST", f"{base}/check-in", nurse, body)
        if i % 2 == 0
        else ("POST", f"{base}/no-show", admin, body)
        for i in range(RACERS)
    ]
    outcome = _all_at_once(calls)

    assert outcome == Counter({200: 1, 409: RACERS - 1})
    status, notices = _outcome_in_db(server, appointment)
    assert status in ("checked_in", "no_show")
    assert notices == 1


def test_without_an_expected_status_still_exactly_one_change_happens(server: RunningServer):  # noqa: F811 (the imported fixture)
    """A loser that read the status before the winner committed is told 409 by the conditional
    write; one that read it after sees the new status and is told 422. Never two changes."""
    appointment = _under_way(server, minute_offset=4)
    nurse = staff_headers(server, "nurse1@example.com", "nurse")
    url = f"{server.base_url}/api/appointments/{appointment}/check-in"
    outcome = _all_at_once([("POST", url, nurse, None)] * RACERS)

    assert outcome[200] == 1
    assert set(outcome) <= {200, 409, 422}
    assert sum(outcome.values()) == RACERS
    assert _outcome_in_db(server, appointment) == ("checked_in", 1)

"""A schedule change racing bookings of the same provider, through real HTTP against a
multi-worker `portal serve`, on SQLite and on MariaDB (the server of test_booking_races).

The documented outcome (docs/api.md, schedules): the change and the bookings take the same
provider lock, so they happen one after the other. A booking committed before the time off is
named by it (409, or kept and listed with `conflicts: keep`); a booking arriving after it is
refused (400, outside the hours); a refused time off changes nothing, so bookings after it are
made. No booking is ever left inside time off unreported.
"""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from models import Appointment
from models.appointments.tables import ProviderTimeOff
from tests.integration.appointments.test_booking_races import (  # noqa: F401 (fixtures)
    PATIENTS,
    RunningServer,
    mysql_race_database,
    server,
)
from tests.integration.appointments.test_lifecycle_races import staff_headers
from tests.support.appointments import NY, open_times, user_id

BOOKINGS = 12  # doctor1 works 14 half hours a day
ROUNDS = 3


def _send_json(method: str, url: str, headers: dict[str, str], body: dict[str, Any]):  # type: ignore[no-untyped-def]
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers=headers, method=method
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def _all_at_once(calls):  # type: ignore[no-untyped-def]
    barrier = threading.Barrier(len(calls))

    def fire(call):  # type: ignore[no-untyped-def]
        barrier.wait()
        return _send_json(*call)

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(fire, calls))


def _free_day(running: RunningServer, doctor: str, after: date) -> tuple[date, list[str]]:
    """doctor1's next working day after `after` with at least BOOKINGS free starts, and them."""
    with running.services.db.new_session() as session:
        day = after + timedelta(days=1)
        while len(open_times(session, doctor, day)) < BOOKINGS:
            day += timedelta(days=1)
        return day, open_times(session, doctor, day)[:BOOKINGS]


def _live_on(running: RunningServer, doctor: str, day: date) -> set[str]:
    with running.services.db.new_session() as session:
        return set(
            session.scalars(
                sa.select(Appointment.id).where(
                    Appointment.provider_id == doctor,
                    Appointment.date == day,
                    Appointment.status != "cancelled",
                )
            )
        )


def _race(running: RunningServer, doctor: str, day: date, times: list[str], conflicts: str):  # type: ignore[no-untyped-def]
    patients = [running.headers(email) for email in PATIENTS]
    booking_url = f"{running.base_url}/api/appointments"
    calls = [
        (
            "POST",
            booking_url,
            patients[i % len(patients)],
            {
                "providerId": doctor,
                "date": day.isoformat(),
                "time": at,
                "type": "consultation",
                "reason": "Racing the provider's day off",
            },
        )
        for i, at in enumerate(times)
    ]
    change = (
        "POST",
        f"{running.base_url}/api/providers/{doctor}/time-off",
        staff_headers(running, "doctor1@example.com", "doctor"),
        {"startDate": day.isoformat(), "reason": "Called away", "conflicts": conflicts},
    )
    calls.insert(len(calls) // 2, change)
    answers = _all_at_once(calls)
    return answers.pop(len(calls) // 2), answers


def test_time_off_racing_bookings_keeps_and_names_exactly_those_booked_first(
    server: RunningServer,  # noqa: F811 (the imported fixture)
):
    doctor = _doctor(server)
    after = datetime.now(NY).date() + timedelta(days=2)
    for _ in range(ROUNDS):
        day, times = _free_day(server, doctor, after)
        before = _live_on(server, doctor, day)
        (status, body), bookings = _race(server, doctor, day, times, "keep")
        assert status == 201, body
        outcome = Counter(code for code, _ in bookings)
        assert set(outcome) <= {201, 400}, outcome
        made = {answer["id"] for code, answer in bookings if code == 201}
        kept = {visit["id"] for visit in body["keptAppointments"]}
        assert kept == made | before  # every booking inside the time off is listed
        assert _live_on(server, doctor, day) == made | before  # and none was dropped
        after = day


def test_time_off_racing_bookings_is_either_made_alone_or_refused_naming_them(
    server: RunningServer,  # noqa: F811 (the imported fixture)
):
    doctor = _doctor(server)
    after = datetime.now(NY).date() + timedelta(days=30)
    for _ in range(ROUNDS):
        day, times = _free_day(server, doctor, after)
        before = _live_on(server, doctor, day)
        (status, body), bookings = _race(server, doctor, day, times, "refuse")
        made = {answer["id"] for code, answer in bookings if code == 201}
        live = _live_on(server, doctor, day)
        if status == 201:  # first, or every booking came after it: none is on that day
            assert made == set() and live == before == set()
            assert {code for code, _ in bookings} == {400}
        else:
            assert status == 409, body
            named = {d["field"].removeprefix("appointments/") for d in body["error"]["details"]}
            # it names the bookings committed before it; those after it were made normally
            assert named and named <= made | before
            assert live == made | before
            assert {code for code, _ in bookings} == {201}
            assert _time_off_on(server, doctor, day) == 0
        after = day


def _doctor(running: RunningServer) -> str:
    with running.services.db.new_session() as session:
        return user_id(session, "doctor1@example.com")


def _time_off_on(running: RunningServer, doctor: str, day: date) -> int:
    with running.services.db.new_session() as session:
        return (
            session.scalar(
                sa.select(sa.func.count(ProviderTimeOff.id)).where(
                    ProviderTimeOff.start_date <= day, ProviderTimeOff.end_date >= day
                )
            )
            or 0
        )

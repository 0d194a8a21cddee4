"""The waitlist under load, through real HTTP against a multi-worker `portal serve` on SQLite
and on MariaDB (the booking race tests' server): 50 simultaneous accepts of one offered slot
make one appointment; a cancellation racing an accept leaves both done and the offers
consistent."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa

from models import Appointment
from tests.integration.appointments.test_booking_races import (  # the same running server
    ATTEMPTS,
    RunningServer,
    _all_at_once,
    _target,
    mysql_race_database,
    server,
)
from tests.support.appointments import live_rows_at, open_times, to_time, user_id

__all__ = ["mysql_race_database", "server"]  # the fixtures, used by name

HOLDER = "patient1@example.com"
WAITING = ["patient2@example.com", "patient3@example.com", "patient4@example.com"]
REASON = "Hoping to be seen sooner than planned"


def _call(
    method: str, url: str, headers: dict[str, str], body: dict[str, Any] | None = None
) -> tuple[int, Any]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def _book(server: RunningServer, email: str, doctor: str, day: date, at: str) -> str:
    status, body = _call(
        "POST",
        f"{server.base_url}/api/appointments",
        server.headers(email),
        {"providerId": doctor, "date": day.isoformat(), "time": at, "type": "consultation",
         "reason": "Booked to be cancelled by the race test"},
    )  # fmt: skip
    assert status == 201, body
    return str(body["id"])


def _join(server: RunningServer, email: str, doctor: str, day: date) -> None:
    status, body = _call(
        "POST",
        f"{server.base_url}/api/waitlist",
        server.headers(email),
        {"providerId": doctor, "startDate": day.isoformat(), "endDate": day.isoformat(),
         "timeOfDay": "any", "type": "consultation", "reason": REASON},
    )  # fmt: skip
    assert status == 201, body


def _cancel_call(server: RunningServer, email: str, appointment_id: str) -> tuple[Any, ...]:
    return (
        "DELETE",
        f"{server.base_url}/api/appointments/{appointment_id}/cancel",
        server.headers(email),
        {"reason": "Something came up, sorry"},
    )


def _offers(server: RunningServer, email: str, day: date) -> list[dict[str, Any]]:
    status, body = _call("GET", f"{server.base_url}/api/waitlist/offers", server.headers(email))
    assert status == 200, body
    return [offer for offer in body["data"] if offer["date"] == day.isoformat()]


def _free_day(server: RunningServer, doctor: str, after: date, times: int) -> date:
    """A working day after `after` with at least `times` free times."""
    with server.services.db.new_session() as session:
        day = after + timedelta(days=1)
        while len(open_times(session, doctor, day)) < times:
            day += timedelta(days=1)
        return day


def test_fifty_simultaneous_accepts_of_one_offered_slot_make_one_appointment(
    server: RunningServer,
):
    doctor, day, at = _target(server, skip=2)
    day = _free_day(server, doctor, day + timedelta(days=7), 1)
    with server.services.db.new_session() as session:
        at = open_times(session, doctor, day)[0]
    held = _book(server, HOLDER, doctor, day, at)
    for email in WAITING:
        _join(server, email, doctor, day)
    status, body = _call(*_cancel_call(server, HOLDER, held))
    assert status == 200, body
    offered = {email: _offers(server, email, day) for email in WAITING}
    assert all(len(found) == 1 and found[0]["status"] == "open" for found in offered.values())

    headers = {email: server.headers(email) for email in WAITING}
    calls = [
        (
            "POST",
            f"{server.base_url}/api/waitlist/offers/{offered[email][0]['id']}/accept",
            headers[email],
            None,
        )
        for email in (WAITING[i % len(WAITING)] for i in range(ATTEMPTS))
    ]
    outcome = _all_at_once(calls)

    assert outcome == Counter({201: 1, 409: ATTEMPTS - 1})
    with server.services.db.new_session() as session:
        assert live_rows_at(session, doctor, day, at) == 1
    states = sorted(_offers(server, email, day)[0]["status"] for email in WAITING)
    assert states == ["accepted", "taken", "taken"]


def test_a_cancellation_racing_an_accept_leaves_both_done_and_the_offers_consistent(
    server: RunningServer,
):
    doctor, first, _ = _target(server, skip=3)
    day = _free_day(server, doctor, first + timedelta(days=14), 2)
    with server.services.db.new_session() as session:
        at_one, at_two = open_times(session, doctor, day)[:2]
    one = _book(server, HOLDER, doctor, day, at_one)
    two = _book(server, "patient5@example.com", doctor, day, at_two)
    racer, other = WAITING[0], WAITING[1]
    for email in (racer, other):
        _join(server, email, doctor, day)
    assert _call(*_cancel_call(server, HOLDER, one))[0] == 200
    [offer] = _offers(server, racer, day)
    assert offer["time"] == at_one

    barrier = threading.Barrier(2)

    def fire(call: tuple[Any, ...]) -> int:
        barrier.wait()
        return _call(*call)[0]

    accept_call = (
        "POST",
        f"{server.base_url}/api/waitlist/offers/{offer['id']}/accept",
        server.headers(racer),
        None,
    )
    with ThreadPoolExecutor(max_workers=2) as pool:
        accepted, cancelled = pool.map(
            fire, [accept_call, _cancel_call(server, "patient5@example.com", two)]
        )

    assert (accepted, cancelled) == (201, 200)
    with server.services.db.new_session() as session:
        assert live_rows_at(session, doctor, day, at_one) == 1
        assert live_rows_at(session, doctor, day, at_two) == 0
        racer_id = user_id(session, racer)
        winner = session.scalar(
            sa.select(Appointment.patient_id).where(
                Appointment.provider_id == doctor,
                Appointment.date == day,
                Appointment.start_time == to_time(at_one),
                Appointment.status != "cancelled",
            )
        )
        assert winner == racer_id
    # Whichever ran first, the racer holds no open offer (fulfilled), and the freed second
    # time is open to the other waiting patient.
    assert [o for o in _offers(server, racer, day) if o["status"] == "open"] == []
    by_time = {o["time"]: o["status"] for o in _offers(server, other, day)}
    assert by_time == {at_one: "taken", at_two: "open"}

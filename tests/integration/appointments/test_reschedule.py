"""PUT /api/appointments/{id}/reschedule: slot rules, notice, states, owners only."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest
import sqlalchemy as sa
import time_machine

from models import Appointment
from tests.support.appointments import (
    NEXT_WEDNESDAY,
    NOON,
    NY,
    booking,
    live_rows_at,
    stored,
    user_id,
)

PATIENT = "patient1@example.com"
OTHER = "patient2@example.com"


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOON, tick=False):
        yield


def move(client, headers, appointment_id, day, at, **extra):
    body = {"date": day.isoformat(), "time": at, **extra}
    return client.put(f"/api/appointments/{appointment_id}/reschedule", json=body, headers=headers)


def put_at(db_session, appointment_id: str, **values) -> None:
    db_session.rollback()
    db_session.execute(
        sa.update(Appointment).where(Appointment.id == appointment_id).values(**values)
    )
    db_session.commit()


def test_reschedule_moves_the_visit_and_frees_the_old_slot(
    client, auth, db_session, doctor, booked
):
    friday = date(2026, 12, 4)
    response = move(client, auth(PATIENT), booked["id"], friday, "02:30 PM", reason="Work conflict")
    assert response.status_code == 200, response.text
    moved = response.json()
    assert (moved["date"], moved["time"]) == ("2026-12-04", "02:30 PM")
    for kept in (
        "id",
        "providerId",
        "patientId",
        "type",
        "duration",
        "reason",
        "notes",
        "location",
    ):
        assert moved[kept] == booked[kept]
    assert moved["status"] == "scheduled"
    row = stored(db_session, booked["id"])
    assert (row.date, row.start_time) == (friday, time(14, 30))
    assert row.reschedule_reason == "Work conflict"
    assert row.reason == booked["reason"]
    assert live_rows_at(db_session, doctor, NEXT_WEDNESDAY, "09:00 AM") == 0
    freed = client.post(
        "/api/appointments", json=booking(doctor, NEXT_WEDNESDAY, "09:00 AM"), headers=auth(OTHER)
    )
    assert freed.status_code == 201, freed.text


def test_reschedule_to_a_later_time_the_same_day(client, auth, booked):
    response = move(client, auth(PATIENT), booked["id"], NEXT_WEDNESDAY, "09:30 AM")
    assert response.status_code == 200
    assert response.json()["time"] == "09:30 AM"


def test_reschedule_onto_a_taken_slot_is_409_and_changes_nothing(
    client, auth, db_session, doctor, booked
):
    taken = client.post(
        "/api/appointments", json=booking(doctor, NEXT_WEDNESDAY, "11:00 AM"), headers=auth(OTHER)
    )
    assert taken.status_code == 201
    response = move(client, auth(PATIENT), booked["id"], NEXT_WEDNESDAY, "11:00 AM")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "CONFLICT"
    assert stored(db_session, booked["id"]).start_time == time(9)


def test_a_procedure_keeps_its_hour_when_moved(client, auth, doctor):
    headers = auth(PATIENT)
    procedure = client.post(
        "/api/appointments",
        json=booking(doctor, NEXT_WEDNESDAY, "01:00 PM", type="procedure"),
        headers=headers,
    ).json()
    other = client.post(
        "/api/appointments", json=booking(doctor, NEXT_WEDNESDAY, "10:00 AM"), headers=auth(OTHER)
    )
    assert other.status_code == 201
    # 09:30 + 60 minutes would run into the 10:00 visit; 11:00 fits before noon.
    assert move(client, headers, procedure["id"], NEXT_WEDNESDAY, "09:30 AM").status_code == 409
    response = move(client, headers, procedure["id"], NEXT_WEDNESDAY, "11:00 AM")
    assert response.status_code == 200
    assert response.json()["duration"] == 60
    assert move(client, headers, procedure["id"], NEXT_WEDNESDAY, "11:30 AM").status_code == 400


@pytest.mark.parametrize(
    ("day", "at", "field"),
    [
        (date(2026, 11, 24), "10:00 AM", "date"),
        (date(2027, 6, 1), "10:00 AM", "date"),
        (NEXT_WEDNESDAY, "07:00 AM", "time"),
        (NEXT_WEDNESDAY, "12:00 PM", "time"),
        (date(2026, 11, 25), "10:00 AM", "time"),  # earlier today
    ],
)
def test_reschedule_to_a_time_that_is_not_a_slot_is_400(client, auth, booked, day, at, field):
    response = move(client, auth(PATIENT), booked["id"], day, at)
    assert response.status_code == 400
    assert [d["field"] for d in response.json()["error"]["details"]] == [field]


def test_reschedule_body_is_validated_by_the_spec(client, auth, booked):
    response = move(client, auth(PATIENT), booked["id"], NEXT_WEDNESDAY, "10:00", reason="x" * 501)
    assert response.status_code == 400
    assert {d["field"] for d in response.json()["error"]["details"]} == {"time", "reason"}


def test_reschedule_needs_two_hours_notice(client, auth, booked):
    # 2026-12-02 09:00 New York is 14:00 UTC.
    with time_machine.travel(datetime(2026, 12, 2, 12, 1, tzinfo=UTC), tick=False):
        late = move(client, auth(PATIENT), booked["id"], date(2026, 12, 4), "10:00 AM")
        assert late.status_code == 422
        assert late.json()["error"]["code"] == "UNPROCESSABLE_ENTITY"
    with time_machine.travel(datetime(2026, 12, 2, 12, 0, tzinfo=UTC), tick=False):
        response = move(client, auth(PATIENT), booked["id"], date(2026, 12, 4), "10:00 AM")
        assert response.status_code == 200


def test_a_past_appointment_cannot_be_rescheduled(client, auth, booked):
    with time_machine.travel(datetime(2026, 12, 2, 10, 0, tzinfo=NY), tick=False):
        response = move(client, auth(PATIENT), booked["id"], date(2026, 12, 4), "10:00 AM")
    assert response.status_code == 422


@pytest.mark.parametrize("status", ["cancelled", "completed", "no_show", "checked_in"])
def test_only_scheduled_or_confirmed_visits_move(client, auth, db_session, booked, status):
    put_at(db_session, booked["id"], status=status)
    response = move(client, auth(PATIENT), booked["id"], date(2026, 12, 4), "10:00 AM")
    assert response.status_code == 422
    assert stored(db_session, booked["id"]).date == NEXT_WEDNESDAY


def test_a_confirmed_visit_moves(client, auth, db_session, booked):
    put_at(db_session, booked["id"], status="confirmed")
    response = move(client, auth(PATIENT), booked["id"], date(2026, 12, 4), "10:00 AM")
    assert response.status_code == 200
    assert response.json()["status"] == "confirmed"


@pytest.mark.parametrize("email", [OTHER, "doctor1@example.com"])
def test_nobody_but_the_owner_and_the_front_desk_reschedules(
    client, auth, db_session, booked, email
):
    response = move(client, auth(email), booked["id"], date(2026, 12, 4), "10:00 AM")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "AUTHORIZATION_ERROR"
    assert stored(db_session, booked["id"]).date == NEXT_WEDNESDAY


def test_rescheduling_an_unknown_appointment_is_404(client, auth):
    unknown = "7d0b1d7c-3f5e-4a63-9b1e-2f0c4a7c9e11"
    response = move(client, auth(PATIENT), unknown, NEXT_WEDNESDAY, "10:00 AM")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


def test_two_hours_notice_counts_real_hours_on_the_spring_forward_night(
    client, auth, db_session, doctor, services
):
    # 2027-03-14 in New York: 02:00 EST jumps to 03:00 EDT. A 04:00 EDT visit (08:00 UTC) is
    # 3 wall-clock hours after 01:00 EST but only 2 real hours; at 01:01 EST it is too late.
    early = Appointment(
        patient_id=user_id(db_session, PATIENT),
        provider_id=doctor,
        date=date(2027, 3, 14),
        start_time=time(4),
        type="urgent_care",
        status="scheduled",
        reason="Night visit on the daylight-saving change",
        duration=30,
    )
    services.db.run(lambda session: session.add(early))
    monday = date(2027, 3, 15)
    with time_machine.travel(datetime(2027, 3, 14, 6, 1, tzinfo=UTC), tick=False):
        assert move(client, auth(PATIENT), early.id, monday, "09:00 AM").status_code == 422
    with time_machine.travel(datetime(2027, 3, 14, 6, 0, tzinfo=UTC), tick=False):
        response = move(client, auth(PATIENT), early.id, monday, "09:00 AM")
        assert response.status_code == 200, response.text
    assert stored(db_session, early.id).date == monday


def test_rescheduling_needs_a_token(client, booked):
    assert move(client, {}, booked["id"], NEXT_WEDNESDAY, "10:00 AM").status_code == 401

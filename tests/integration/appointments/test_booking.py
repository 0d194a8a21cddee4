"""POST /api/appointments: the booking flow and every booking rule."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
import time_machine

from models import Appointment, ProviderLocation, ProviderProfile
from tests.support.appointments import (
    NEXT_WEDNESDAY,
    NOON,
    booking,
    live_rows_at,
    open_times,
    stored,
    user_id,
)

PATIENT = "patient1@example.com"


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOON, tick=False):
        yield


def post(client, headers, body):
    return client.post("/api/appointments", json=body, headers=headers)


def fields(response) -> set[str]:
    return {d["field"] for d in response.json()["error"]["details"]}


def test_booking_creates_a_scheduled_appointment(client, auth, db_session, doctor):
    at = open_times(db_session, doctor, NEXT_WEDNESDAY)[0]
    body = booking(doctor, NEXT_WEDNESDAY, at, notes="Bring the <b>MRI</b> CD\n\tthanks")
    response = post(client, auth(PATIENT), body)

    assert response.status_code == 201, response.text
    created = response.json()
    assert response.headers["location"] == f"/api/appointments/{created['id']}"
    profile = db_session.scalar(sa.select(ProviderProfile).where(ProviderProfile.user_id == doctor))
    primary = db_session.scalar(
        sa.select(ProviderLocation).where(
            ProviderLocation.provider_id == profile.id, ProviderLocation.is_primary.is_(True)
        )
    )
    assert created == {
        "id": created["id"],
        "patientId": user_id(db_session, PATIENT),
        "providerId": doctor,
        "date": "2026-12-02",
        "time": at,
        "type": "routine_checkup",
        "status": "scheduled",
        "reason": body["reason"],
        "notes": "Bring the <b>MRI</b> CD\n\tthanks",  # stored and returned as typed
        "isVirtual": False,
        "timeZone": "America/New_York",
        "virtualMeetingUrl": None,
        "location": primary.one_line,
        "duration": 30,
        "checkInTime": None,
        "checkOutTime": None,
        "createdAt": "2026-11-25T17:00:00Z",
        "updatedAt": "2026-11-25T17:00:00Z",
    }
    row = stored(db_session, created["id"])
    assert (row.status, row.duration, row.notes) == ("scheduled", 30, body["notes"])
    detail = client.get(response.headers["location"], headers=auth(PATIENT))
    assert detail.status_code == 200
    assert detail.json()["time"] == at


def test_a_procedure_takes_an_hour_and_blocks_the_next_half_hour(client, auth, doctor):
    response = post(
        client, auth(PATIENT), booking(doctor, NEXT_WEDNESDAY, "09:00 AM", type="procedure")
    )
    assert response.status_code == 201, response.text
    assert response.json()["duration"] == 60
    overlapping = post(
        client, auth("patient2@example.com"), booking(doctor, NEXT_WEDNESDAY, "09:30 AM")
    )
    assert overlapping.status_code == 409
    assert overlapping.json()["error"]["code"] == "CONFLICT"
    assert (
        post(
            client, auth("patient2@example.com"), booking(doctor, NEXT_WEDNESDAY, "10:00 AM")
        ).status_code
        == 201
    )


def test_an_hour_long_visit_cannot_start_half_an_hour_before_a_booking(client, auth, doctor):
    assert (
        post(client, auth(PATIENT), booking(doctor, NEXT_WEDNESDAY, "10:00 AM")).status_code == 201
    )
    response = post(
        client,
        auth("patient2@example.com"),
        booking(doctor, NEXT_WEDNESDAY, "09:30 AM", type="procedure"),
    )
    assert response.status_code == 409


@pytest.mark.parametrize(
    ("extra", "virtual"),
    [({"isVirtual": True}, True), ({"type": "telehealth"}, True), ({}, False)],
)
def test_virtual_and_telehealth_visits_get_a_meeting_link(client, auth, doctor, extra, virtual):
    response = post(client, auth(PATIENT), booking(doctor, NEXT_WEDNESDAY, "11:00 AM", **extra))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["isVirtual"] is virtual
    if virtual:
        assert body["virtualMeetingUrl"].startswith("https://meet.portal.example/visit/")
        assert len(body["virtualMeetingUrl"]) > len("https://meet.portal.example/visit/") + 16
    else:
        assert body["virtualMeetingUrl"] is None


def test_a_taken_slot_answers_409_and_stores_nothing(client, auth, db_session, doctor):
    assert (
        post(client, auth(PATIENT), booking(doctor, NEXT_WEDNESDAY, "02:00 PM")).status_code == 201
    )
    response = post(
        client, auth("patient2@example.com"), booking(doctor, NEXT_WEDNESDAY, "02:00 PM")
    )
    assert response.status_code == 409
    assert response.json()["error"]["message"] == "This time slot is no longer available"
    assert live_rows_at(db_session, doctor, NEXT_WEDNESDAY, "02:00 PM") == 1


def test_schema_rules_name_every_offending_field(client, auth, doctor):
    body = {
        "providerId": "not-a-uuid",
        "date": "2026-13-01",
        "time": "9:00",
        "type": "massage",
        "reason": "short",
        "notes": "x" * 1001,
        "extra": 1,
    }
    response = post(client, auth(PATIENT), body)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert fields(response) == {"providerId", "date", "time", "type", "reason", "notes", "extra"}


def test_required_fields_are_reported(client, auth):
    response = post(client, auth(PATIENT), {})
    assert response.status_code == 400
    assert fields(response) == {"providerId", "date", "time", "type", "reason"}


def test_reason_longer_than_500_is_rejected(client, auth, doctor):
    response = post(
        client, auth(PATIENT), booking(doctor, NEXT_WEDNESDAY, "09:00 AM", reason="y" * 501)
    )
    assert response.status_code == 400
    assert fields(response) == {"reason"}


@pytest.mark.parametrize(
    "bad", ["Pain\x00here for days", "Pain \x1b[31m red", "Carriage\rreturn x"]
)
def test_control_characters_other_than_newline_and_tab_are_rejected(client, auth, doctor, bad):
    response = post(client, auth(PATIENT), booking(doctor, NEXT_WEDNESDAY, "09:00 AM", reason=bad))
    assert response.status_code == 400
    assert fields(response) == {"reason"}


def test_html_in_reason_is_stored_verbatim(client, auth, db_session, doctor):
    reason = "<script>alert('x')</script> & chest pain"
    response = post(
        client, auth(PATIENT), booking(doctor, NEXT_WEDNESDAY, "09:00 AM", reason=reason)
    )
    assert response.status_code == 201
    assert response.json()["reason"] == reason
    assert stored(db_session, response.json()["id"]).reason == reason


@pytest.mark.parametrize("day", [date(2026, 11, 24), date(2027, 5, 26)])
def test_dates_in_the_past_or_beyond_six_months_are_rejected(client, auth, doctor, day):
    response = post(client, auth(PATIENT), booking(doctor, day, "10:00 AM"))
    assert response.status_code == 400
    assert fields(response) == {"date"}


def test_the_last_day_of_the_horizon_can_be_booked(client, auth, db_session, doctor):
    last = date(2027, 5, 25)  # a Tuesday, six months after the frozen today
    response = post(
        client, auth(PATIENT), booking(doctor, last, open_times(db_session, doctor, last)[0])
    )
    assert response.status_code == 201, response.text


@pytest.mark.parametrize("at", ["08:00 AM", "12:30 PM", "05:00 PM", "09:15 AM"])
def test_a_time_outside_the_providers_slots_is_rejected(client, auth, doctor, at):
    response = post(client, auth(PATIENT), booking(doctor, NEXT_WEDNESDAY, at))
    assert response.status_code == 400
    assert fields(response) == {"time"}


def test_a_day_the_provider_does_not_work_has_no_slots(client, auth, doctor):
    response = post(
        client, auth(PATIENT), booking(doctor, date(2026, 11, 29), "10:00 AM")
    )  # Sunday
    assert response.status_code == 400
    assert fields(response) == {"time"}


def test_a_time_already_past_today_is_rejected(client, auth, db_session, doctor):
    today = NOON.date()
    response = post(client, auth(PATIENT), booking(doctor, today, "11:00 AM"))
    assert response.status_code == 400
    assert fields(response) == {"time"}
    later = [t for t in open_times(db_session, doctor, today) if t.endswith("PM")]
    assert post(client, auth(PATIENT), booking(doctor, today, later[-1])).status_code == 201


def test_today_is_the_clinics_today(client, auth, db_session, doctor):
    # 03:30 UTC on Nov 26 is still 22:30 on Nov 25 in New York: Nov 25 is "today" (so its
    # times are past, a time error) and Nov 26 is in the future.
    with time_machine.travel(datetime(2026, 11, 26, 3, 30, tzinfo=UTC), tick=False):
        headers = auth(PATIENT)
        response = post(client, headers, booking(doctor, date(2026, 11, 25), "04:30 PM"))
        assert response.status_code == 400
        assert fields(response) == {"time"}
        tomorrow = date(2026, 11, 26)
        response = post(
            client, headers, booking(doctor, tomorrow, open_times(db_session, doctor, tomorrow)[0])
        )
        assert response.status_code == 201, response.text


def test_unknown_provider_is_404(client, auth, db_session):
    unknown = "7d0b1d7c-3f5e-4a63-9b1e-2f0c4a7c9e11"
    response = post(client, auth(PATIENT), booking(unknown, NEXT_WEDNESDAY, "10:00 AM"))
    assert response.status_code == 404
    patient_as_provider = user_id(db_session, "patient2@example.com")
    response = post(client, auth(PATIENT), booking(patient_as_provider, NEXT_WEDNESDAY, "10:00 AM"))
    assert response.status_code == 404


def _closed_provider_and_patients(db_session) -> tuple[str, str, str]:
    """A provider not accepting new patients, a patient who has seen them, one who has not."""
    closed = db_session.scalars(
        sa.select(ProviderProfile.user_id).where(ProviderProfile.accepting_new_patients.is_(False))
    ).all()
    patients = {f"patient{n}@example.com": None for n in range(1, 6)}
    for provider in closed:
        seen = set(
            db_session.scalars(
                sa.select(Appointment.patient_id).where(
                    Appointment.provider_id == provider, Appointment.status == "completed"
                )
            )
        )
        ids = {email: user_id(db_session, email) for email in patients}
        seen_emails = [e for e, i in ids.items() if i in seen]
        unseen_emails = [
            e
            for e, i in ids.items()
            if db_session.scalar(
                sa.select(sa.func.count(Appointment.id)).where(
                    Appointment.provider_id == provider, Appointment.patient_id == i
                )
            )
            == 0
        ]
        if seen_emails and unseen_emails:
            return provider, seen_emails[0], unseen_emails[0]
    raise AssertionError("seed has no closed provider with a returning patient")


def _a_working_day(db_session, provider: str) -> tuple[date, str]:
    day = NEXT_WEDNESDAY
    while not open_times(db_session, provider, day):
        day = date.fromordinal(day.toordinal() + 1)
    return day, open_times(db_session, provider, day)[0]


def test_a_closed_practice_refuses_new_patients_but_not_returning_ones(client, auth, db_session):
    provider, returning, new = _closed_provider_and_patients(db_session)
    day, at = _a_working_day(db_session, provider)
    refused = post(client, auth(new), booking(provider, day, at))
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "UNPROCESSABLE_ENTITY"
    accepted = post(client, auth(returning), booking(provider, day, at))
    assert accepted.status_code == 201, accepted.text


def test_a_cancelled_slot_can_be_booked_again(client, auth, db_session, doctor):
    first = post(client, auth(PATIENT), booking(doctor, NEXT_WEDNESDAY, "03:00 PM"))
    assert first.status_code == 201
    cancelled = client.request(
        "DELETE",
        f"/api/appointments/{first.json()['id']}/cancel",
        json={"reason": "Feeling better now, thanks"},
        headers=auth(PATIENT),
    )
    assert cancelled.status_code == 200
    again = post(client, auth("patient2@example.com"), booking(doctor, NEXT_WEDNESDAY, "03:00 PM"))
    assert again.status_code == 201, again.text
    assert live_rows_at(db_session, doctor, NEXT_WEDNESDAY, "03:00 PM") == 1


@pytest.mark.parametrize("email", ["doctor1@example.com", "provider2@clinic.example"])
def test_doctors_do_not_book(client, auth, db_session, doctor, email):
    response = post(client, auth(email), booking(doctor, NEXT_WEDNESDAY, "10:00 AM"))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "AUTHORIZATION_ERROR"
    assert live_rows_at(db_session, doctor, NEXT_WEDNESDAY, "10:00 AM") == 0


def test_booking_needs_a_token(client, doctor):
    response = post(client, {}, booking(doctor, NEXT_WEDNESDAY, "10:00 AM"))
    assert response.status_code == 401

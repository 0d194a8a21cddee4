"""The lifecycle through HTTP: confirm, check in, complete, no-show; every role against every
step (allowed and refused), the time rules on a frozen clock, 422 naming the status, 409 on a
status seen before someone else's change, what the patient then sees, the notice and the audit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
import time_machine

from models import Appointment
from models.notifications.tables import OutboxMessage
from tests.support.appointments import NEXT_WEDNESDAY, NOON, NY, stored
from tests.support.audit import last_entry

PATIENT = "patient1@example.com"
OTHER = "patient2@example.com"
DOCTOR = "doctor1@example.com"  # the booked appointment's doctor
OTHER_DOCTOR = "provider2@clinic.example"
NURSE = "nurse1@example.com"
ADMIN = "admin@example.com"
EVERYONE = (PATIENT, OTHER, DOCTOR, OTHER_DOCTOR, NURSE, ADMIN)
# The `booked` fixture's visit: next Wednesday 09:00-09:30 in the clinic.
START = datetime(2026, 12, 2, 9, 0, tzinfo=NY)

PATHS = {
    "confirm": "confirm",
    "check_in": "check-in",
    "complete": "complete",
    "no_show": "no-show",
}
# When each step is tried (inside its time rule), and from which status.
WHEN = {
    "confirm": NOON,
    "check_in": START - timedelta(minutes=10),
    "complete": START + timedelta(minutes=25),
    "no_show": START + timedelta(minutes=20),
}
FROM = {"confirm": "scheduled", "check_in": "confirmed", "complete": "checked_in",
        "no_show": "scheduled"}  # fmt: skip
TO = {"confirm": "confirmed", "check_in": "checked_in", "complete": "completed",
      "no_show": "no_show"}  # fmt: skip
MAY = {
    "confirm": {PATIENT, NURSE, ADMIN},
    "check_in": {NURSE, ADMIN},
    "complete": {DOCTOR, NURSE},
    "no_show": {DOCTOR, NURSE, ADMIN},
}
ACTIONS = {
    "confirm": "CONFIRM_APPOINTMENT",
    "check_in": "CHECK_IN_APPOINTMENT",
    "complete": "COMPLETE_APPOINTMENT",
    "no_show": "MARK_APPOINTMENT_NO_SHOW",
}


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOON, tick=False):
        yield


def step(client, headers, appointment_id: str, name: str, **body: Any):  # type: ignore[no-untyped-def]
    return client.post(
        f"/api/appointments/{appointment_id}/{PATHS[name]}",
        json=body or None,
        headers=headers,
    )


def put_status(db_session, appointment_id: str, status: str) -> None:  # type: ignore[no-untyped-def]
    db_session.rollback()
    db_session.execute(
        sa.update(Appointment).where(Appointment.id == appointment_id).values(status=status)
    )
    db_session.commit()


def notices(db_session, appointment_id: str) -> list[str]:  # type: ignore[no-untyped-def]
    db_session.rollback()
    return list(
        db_session.scalars(
            sa.select(OutboxMessage.kind).where(
                OutboxMessage.appointment_id == appointment_id,
                OutboxMessage.kind == "status_changed",
            )
        )
    )


@pytest.mark.parametrize("email", EVERYONE)
@pytest.mark.parametrize("name", sorted(PATHS))
def test_every_role_against_every_step(
    client, auth, db_session, services, booked, name: str, email: str
):
    put_status(db_session, booked["id"], FROM[name])
    with time_machine.travel(WHEN[name], tick=False):
        response = step(client, auth(email), booked["id"], name)
    row = stored(db_session, booked["id"])
    if email in MAY[name]:
        assert response.status_code == 200, response.text
        assert response.json()["status"] == TO[name]
        assert row.status == TO[name]
        assert notices(db_session, booked["id"]) == ["status_changed"]
        entry = last_entry(services, action=ACTIONS[name])
        assert entry.status == "success"
        assert entry.user_id == auth.user(email).id
        assert entry.subject == auth.user(PATIENT).id
        assert (entry.details["from"], entry.details["to"]) == (FROM[name], TO[name])
    else:
        assert response.status_code == 403, response.text
        assert response.json()["error"]["code"] == "AUTHORIZATION_ERROR"
        assert row.status == FROM[name]
        assert notices(db_session, booked["id"]) == []
        assert last_entry(services, action=ACTIONS[name]).status == "denied"


def test_a_day_at_the_clinic_as_the_patient_sees_it(client, auth, db_session, booked):
    appointment = booked["id"]
    assert step(client, auth(PATIENT), appointment, "confirm").json()["status"] == "confirmed"
    with time_machine.travel(START - timedelta(minutes=5), tick=False):
        checked_in = step(client, auth(NURSE), appointment, "check_in").json()
    assert checked_in["checkInTime"] == "2026-12-02T13:55:00Z"
    with time_machine.travel(START + timedelta(minutes=28), tick=False):
        done = step(client, auth(DOCTOR), appointment, "complete").json()
    assert (done["status"], done["checkOutTime"]) == ("completed", "2026-12-02T14:28:00Z")
    detail = client.get(f"/api/appointments/{appointment}", headers=auth(PATIENT)).json()
    assert (detail["status"], detail["checkInTime"], detail["checkOutTime"]) == (
        "completed",
        "2026-12-02T13:55:00Z",
        "2026-12-02T14:28:00Z",
    )
    listed = client.get(
        "/api/appointments", params={"date": "2026-12-02"}, headers=auth(PATIENT)
    ).json()["data"]
    assert [(a["id"], a["status"], a["checkOutTime"]) for a in listed] == [
        (appointment, "completed", "2026-12-02T14:28:00Z")
    ]
    row = stored(db_session, appointment)
    assert row.check_in_time == (START - timedelta(minutes=5)).astimezone(UTC)
    assert notices(db_session, appointment) == ["status_changed"] * 3


@pytest.mark.parametrize(
    "name, status",
    [("confirm", "confirmed"), ("complete", "scheduled"), ("check_in", "completed"),
     ("no_show", "checked_in"), ("check_in", "cancelled"), ("confirm", "no_show")],
)  # fmt: skip
def test_an_illegal_step_is_422_naming_the_status(
    client, auth, db_session, booked, name: str, status: str
):
    put_status(db_session, booked["id"], status)
    with time_machine.travel(WHEN[name], tick=False):
        response = step(client, auth(NURSE), booked["id"], name)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "UNPROCESSABLE_ENTITY"
    assert error["message"].endswith(f"its status is {status}")
    assert stored(db_session, booked["id"]).status == status


@pytest.mark.parametrize(
    "name, at, rule",
    [
        ("check_in", START - timedelta(minutes=61), "opens 60 minutes before"),
        ("check_in", START + timedelta(minutes=31), "closed at the end"),
        ("no_show", START + timedelta(minutes=14), "15 minutes after"),
        ("confirm", START, "start has passed"),
    ],
)
def test_the_time_rules_answer_422(
    client, auth, db_session, booked, name: str, at: datetime, rule: str
):
    with time_machine.travel(at, tick=False):
        response = step(client, auth(NURSE), booked["id"], name)
    assert response.status_code == 422, response.text
    assert rule in response.json()["error"]["message"]
    assert stored(db_session, booked["id"]).status == "scheduled"


def test_a_step_on_a_status_changed_meanwhile_is_409(client, auth, db_session, booked):
    put_status(db_session, booked["id"], "checked_in")
    with time_machine.travel(WHEN["no_show"], tick=False):
        response = step(client, auth(NURSE), booked["id"], "no_show", expectedStatus="scheduled")
    assert response.status_code == 409, response.text
    assert response.json()["error"]["code"] == "CONFLICT"
    assert "checked_in" in response.json()["error"]["message"]
    assert stored(db_session, booked["id"]).status == "checked_in"


def test_a_matching_expected_status_goes_through(client, auth, booked):
    with time_machine.travel(WHEN["check_in"], tick=False):
        response = step(client, auth(NURSE), booked["id"], "check_in", expectedStatus="scheduled")
    assert response.status_code == 200, response.text


@pytest.mark.parametrize("name", sorted(PATHS))
def test_an_unknown_appointment_is_404(client, auth, name: str):
    response = step(client, auth(NURSE), "7d0b1d7c-3f5e-4a63-9b1e-2f0c4a7c9e11", name)
    assert response.status_code == 404


@pytest.mark.parametrize(
    "body", [{"expectedStatus": "arrived"}, {"other": 1}, {"expectedStatus": None}]
)
def test_a_malformed_body_is_400(client, auth, booked, body):
    response = client.post(
        f"/api/appointments/{booked['id']}/confirm", json=body, headers=auth(PATIENT)
    )
    assert response.status_code == 400, response.text


@pytest.mark.parametrize("name", sorted(PATHS))
def test_every_step_needs_a_token_and_csrf(client, auth, booked, name: str):
    assert step(client, {}, booked["id"], name).status_code == 401
    headers = auth(NURSE)
    del headers["X-CSRF-Token"]
    assert step(client, headers, booked["id"], name).status_code == 403


def test_the_front_desk_today_view_filters(client, auth, db_session, booked, doctor):
    nurse = auth(NURSE)
    location = booked["location"]
    today = {"date": NEXT_WEDNESDAY.isoformat(), "providerId": doctor, "status": "scheduled"}
    found = client.get("/api/appointments", params=today, headers=nurse).json()["data"]
    assert booked["id"] in [a["id"] for a in found]
    assert {(a["date"], a["providerId"], a["status"]) for a in found} == {
        ("2026-12-02", doctor, "scheduled")
    }
    at_location = client.get(
        "/api/appointments", params={**today, "location": location}, headers=nurse
    ).json()["data"]
    assert booked["id"] in [a["id"] for a in at_location]
    assert {a["location"] for a in at_location} == {location}
    elsewhere = client.get(
        "/api/appointments", params={**today, "location": "Nowhere 1"}, headers=nurse
    ).json()
    assert elsewhere["data"] == [] and elsewhere["pagination"]["total"] == 0
    patient_id = auth.user(PATIENT).id
    theirs = client.get(
        "/api/appointments", params={"patientId": patient_id}, headers=nurse
    ).json()["data"]
    assert theirs and {a["patientId"] for a in theirs} == {patient_id}
    # date and a range combine with AND
    outside = client.get(
        "/api/appointments",
        params={"date": "2026-12-02", "startDate": "2026-12-03"},
        headers=nurse,
    ).json()
    assert outside["data"] == []


def test_a_patient_cannot_widen_their_list_with_the_staff_filters(client, auth, booked):
    other_id = auth.user(OTHER).id
    response = client.get(
        "/api/appointments", params={"patientId": other_id}, headers=auth(PATIENT)
    )
    assert response.status_code == 200
    assert response.json()["data"] == []

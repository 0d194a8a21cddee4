"""The front desk on the phone: a nurse or an admin books, moves and cancels for a patient under
the patient's rules, and the audit entry names both the staff member and the patient."""

from __future__ import annotations

from datetime import date

import pytest
import time_machine

from tests.support.appointments import NEXT_WEDNESDAY, NOON, booking, live_rows_at, stored
from tests.support.audit import last_entry

PATIENT = "patient2@example.com"
NURSE = "nurse1@example.com"
ADMIN = "admin@example.com"


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOON, tick=False):
        yield


def book(client, headers, body):  # type: ignore[no-untyped-def]
    return client.post("/api/appointments", json=body, headers=headers)


@pytest.mark.parametrize("staff", [NURSE, ADMIN])
def test_staff_book_for_a_patient_and_the_audit_names_both(
    client, auth, services, db_session, doctor, staff
):
    patient_id = auth.user(PATIENT).id
    response = book(
        client, auth(staff), booking(doctor, NEXT_WEDNESDAY, "10:00 AM", patientId=patient_id)
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert (created["patientId"], created["status"]) == (patient_id, "scheduled")
    assert stored(db_session, created["id"]).patient_id == patient_id
    entry = last_entry(services, action="CREATE_APPOINTMENT")
    assert (entry.status, entry.user_id) == ("success", auth.user(staff).id)
    assert entry.subject == patient_id
    mine = client.get("/api/appointments", headers=auth(PATIENT)).json()["data"]
    assert created["id"] in [a["id"] for a in mine]


def test_staff_must_name_the_patient(client, auth, db_session, doctor):
    response = book(client, auth(NURSE), booking(doctor, NEXT_WEDNESDAY, "10:00 AM"))
    assert response.status_code == 400
    assert [d["field"] for d in response.json()["error"]["details"]] == ["patientId"]
    assert live_rows_at(db_session, doctor, NEXT_WEDNESDAY, "10:00 AM") == 0


@pytest.mark.parametrize("who", ["doctor1@example.com", "nurse1@example.com"])
def test_only_a_patient_can_be_booked_for(client, auth, db_session, doctor, who):
    response = book(
        client,
        auth(NURSE),
        booking(doctor, NEXT_WEDNESDAY, "10:00 AM", patientId=auth.user(who).id),
    )
    assert response.status_code == 404
    assert response.json()["error"]["message"] == "Patient not found"
    assert live_rows_at(db_session, doctor, NEXT_WEDNESDAY, "10:00 AM") == 0


def test_an_unknown_patient_is_404(client, auth, doctor):
    body = booking(
        doctor, NEXT_WEDNESDAY, "10:00 AM", patientId="7d0b1d7c-3f5e-4a63-9b1e-2f0c4a7c9e11"
    )
    assert book(client, auth(ADMIN), body).status_code == 404


def test_a_patient_books_only_for_themselves(client, auth, db_session, doctor):
    other = auth.user(PATIENT).id
    refused = book(
        client,
        auth("patient1@example.com"),
        booking(doctor, NEXT_WEDNESDAY, "10:00 AM", patientId=other),
    )
    assert refused.status_code == 403
    own = auth.user("patient1@example.com").id
    allowed = book(
        client,
        auth("patient1@example.com"),
        booking(doctor, NEXT_WEDNESDAY, "10:00 AM", patientId=own),
    )
    assert allowed.status_code == 201, allowed.text


def test_staff_booking_keeps_the_slot_rules(client, auth, doctor):
    patient_id = auth.user(PATIENT).id
    first = book(
        client, auth(NURSE), booking(doctor, NEXT_WEDNESDAY, "10:00 AM", patientId=patient_id)
    )
    assert first.status_code == 201
    again = book(
        client, auth(ADMIN), booking(doctor, NEXT_WEDNESDAY, "10:00 AM", patientId=patient_id)
    )
    assert again.status_code == 409
    off_grid = book(
        client, auth(NURSE), booking(doctor, NEXT_WEDNESDAY, "10:15 AM", patientId=patient_id)
    )
    assert off_grid.status_code == 400
    past = book(
        client, auth(NURSE), booking(doctor, date(2026, 11, 1), "10:00 AM", patientId=patient_id)
    )
    assert past.status_code == 400


@pytest.mark.parametrize("staff", [NURSE, ADMIN])
def test_staff_move_and_cancel_for_the_patient(client, auth, services, db_session, booked, staff):
    owner = auth.user("patient1@example.com").id
    moved = client.put(
        f"/api/appointments/{booked['id']}/reschedule",
        json={"date": "2026-12-04", "time": "10:00 AM", "reason": "Patient called"},
        headers=auth(staff),
    )
    assert moved.status_code == 200, moved.text
    assert (moved.json()["date"], moved.json()["patientId"]) == ("2026-12-04", owner)
    entry = last_entry(services, action="RESCHEDULE_APPOINTMENT")
    assert (entry.user_id, entry.subject) == (auth.user(staff).id, owner)
    cancelled = client.request(
        "DELETE",
        f"/api/appointments/{booked['id']}/cancel",
        json={"reason": "Patient called to cancel"},
        headers=auth(staff),
    )
    assert cancelled.status_code == 200, cancelled.text
    entry = last_entry(services, action="CANCEL_APPOINTMENT")
    assert (entry.user_id, entry.subject) == (auth.user(staff).id, owner)
    assert stored(db_session, booked["id"]).status == "cancelled"


def test_staff_moves_keep_the_two_hours_notice(client, auth, booked):
    with time_machine.travel(NOON.replace(day=2, month=12, hour=7, minute=30), tick=False):
        response = client.put(
            f"/api/appointments/{booked['id']}/reschedule",
            json={"date": "2026-12-04", "time": "10:00 AM"},
            headers=auth(NURSE),
        )
    assert response.status_code == 422

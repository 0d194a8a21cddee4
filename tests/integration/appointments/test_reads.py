"""GET /api/appointments and GET /api/appointments/{id}: who sees what, filters, pages."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa
import time_machine
from sqlalchemy import event

from models import Appointment, ProviderProfile
from tests.support.appointments import NEXT_WEDNESDAY, NOON, booking, user_id

PATIENT = "patient1@example.com"
UNKNOWN = "7d0b1d7c-3f5e-4a63-9b1e-2f0c4a7c9e11"


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOON, tick=False):
        yield


def listing(client, headers, **query):
    return client.get("/api/appointments", params=query, headers=headers)


def ids_where(db_session, *conditions) -> set[str]:
    db_session.rollback()
    return set(db_session.scalars(sa.select(Appointment.id).where(*conditions)))


def chronological(items: list[dict]) -> bool:
    keys = [(i["date"], datetime.strptime(i["time"], "%I:%M %p").time()) for i in items]
    return keys == sorted(keys)


def test_a_patient_lists_only_their_own(client, auth, db_session):
    response = listing(client, auth(PATIENT))
    assert response.status_code == 200
    body = response.json()
    mine = ids_where(db_session, Appointment.patient_id == user_id(db_session, PATIENT))
    assert {a["id"] for a in body["data"]} == mine
    assert body["pagination"] == {"page": 1, "limit": 20, "total": len(mine), "totalPages": 1}
    assert response.headers["x-total-count"] == str(len(mine))
    assert (response.headers["x-page"], response.headers["x-per-page"]) == ("1", "20")
    assert response.headers["cache-control"] == "no-store"
    assert chronological(body["data"])
    first = body["data"][0]
    assert set(first["provider"]) == {"id", "firstName", "lastName", "specialty", "npi", "photoUrl"}
    assert first["provider"]["id"] == first["providerId"]


def test_a_listed_appointment_shows_its_stored_values(client, auth, db_session):
    """Each column as its type reads it: PHI decrypted, times of day, UTC instants, flags."""
    patient = user_id(db_session, PATIENT)
    appointment_id = sorted(ids_where(db_session, Appointment.patient_id == patient))[0]
    row = db_session.get(Appointment, appointment_id)
    row.notes = 'Bring the "old" results \\ ünïcode 😀'
    row.reason = "Follow-up: a/b <c> & d"
    row.is_virtual, row.time_zone = True, "America/Chicago"
    row.check_in_time = datetime(2026, 1, 2, 9, 1, 2, 345678, tzinfo=UTC)
    row.check_out_time = datetime(2026, 1, 2, 9, 31, tzinfo=UTC)
    db_session.commit()
    data = listing(client, auth(PATIENT), limit=100).json()["data"]
    shown = next(a for a in data if a["id"] == appointment_id)
    assert shown["notes"] == 'Bring the "old" results \\ ünïcode 😀'
    assert shown["reason"] == "Follow-up: a/b <c> & d"
    assert (shown["isVirtual"], shown["timeZone"]) == (True, "America/Chicago")
    assert (shown["checkInTime"], shown["checkOutTime"]) == (
        "2026-01-02T09:01:02Z",
        "2026-01-02T09:31:00Z",
    )
    assert shown["date"] == row.date.isoformat()
    assert shown["time"] == row.start_time.strftime("%I:%M %p")
    assert shown["duration"] == row.duration and shown["location"] == row.location
    assert shown["createdAt"] == row.created_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert shown["updatedAt"] == row.updated_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    # stored sealed, not as the text shown
    stored = db_session.execute(
        sa.text("SELECT notes FROM appointments WHERE id = :id"), {"id": appointment_id}
    ).scalar_one()
    assert stored.startswith("v1:") and "old" not in stored


def test_listing_is_chronological_not_alphabetical(client, auth, db_session):
    doctor = user_id(db_session, "doctor1@example.com")
    headers = auth("patient3@example.com")
    for at in ("01:00 PM", "09:30 AM", "10:00 AM"):
        response = client.post(
            "/api/appointments", json=booking(doctor, NEXT_WEDNESDAY, at), headers=headers
        )
        assert response.status_code == 201
    day = NEXT_WEDNESDAY.isoformat()
    body = listing(client, headers, startDate=day, endDate=day).json()
    assert [a["time"] for a in body["data"]] == ["09:30 AM", "10:00 AM", "01:00 PM"]


def test_a_doctor_lists_the_appointments_they_give(client, auth, db_session):
    doctor = user_id(db_session, "doctor1@example.com")
    body = listing(client, auth("doctor1@example.com"), limit=100).json()
    expected = ids_where(db_session, Appointment.provider_id == doctor)
    assert expected
    assert {a["id"] for a in body["data"]} == expected
    assert body["pagination"]["total"] == len(expected)


@pytest.mark.parametrize("email", ["nurse1@example.com", "admin@example.com"])
def test_nurses_and_admins_list_everything(client, auth, db_session, email):
    everything = ids_where(db_session)
    body = listing(client, auth(email), limit=100).json()
    assert body["pagination"]["total"] == len(everything)
    assert {a["id"] for a in body["data"]} == everything
    assert chronological(body["data"])


def test_filters_combine(client, auth, db_session):
    headers = auth("admin@example.com")
    completed = listing(client, headers, status="completed", limit=100).json()["data"]
    assert completed and {a["status"] for a in completed} == {"completed"}
    assert {a["id"] for a in completed} == ids_where(db_session, Appointment.status == "completed")

    start, end = date(2026, 11, 25), date(2026, 12, 31)
    ranged = listing(
        client, headers, startDate=start.isoformat(), endDate=end.isoformat(), limit=100
    ).json()["data"]
    assert {a["id"] for a in ranged} == ids_where(
        db_session, Appointment.date >= start, Appointment.date <= end
    )

    doctor = user_id(db_session, "doctor1@example.com")
    theirs = listing(client, headers, providerId=doctor, status="scheduled").json()["data"]
    assert {a["id"] for a in theirs} == ids_where(
        db_session, Appointment.provider_id == doctor, Appointment.status == "scheduled"
    )


def test_a_patient_filtering_by_provider_still_sees_only_their_own(client, auth, db_session):
    doctor = user_id(db_session, "doctor1@example.com")
    patient = user_id(db_session, "patient2@example.com")
    body = listing(client, auth("patient2@example.com"), providerId=doctor).json()
    assert {a["id"] for a in body["data"]} == ids_where(
        db_session, Appointment.provider_id == doctor, Appointment.patient_id == patient
    )


def test_pages(client, auth, db_session):
    headers = auth("admin@example.com")
    total = len(ids_where(db_session))
    everything = listing(client, headers, limit=100).json()["data"]
    second = listing(client, headers, page=2, limit=7)
    assert second.status_code == 200
    assert [a["id"] for a in second.json()["data"]] == [a["id"] for a in everything[7:14]]
    assert second.json()["pagination"] == {
        "page": 2,
        "limit": 7,
        "total": total,
        "totalPages": -(-total // 7),
    }
    assert (second.headers["x-page"], second.headers["x-per-page"]) == ("2", "7")
    beyond = listing(client, headers, page=99, limit=7).json()
    assert beyond["data"] == [] and beyond["pagination"]["total"] == total


def test_the_total_counts_the_filtered_rows_on_every_page(client, auth, db_session):
    """The total rides on the page's rows; past the last page, and with nothing to list, it
    must still count what the filters select."""
    headers = auth("admin@example.com")
    doctor = user_id(db_session, "doctor1@example.com")
    total = len(ids_where(db_session, Appointment.provider_id == doctor))
    assert total > 1
    for page in (1, 2, 99):
        body = listing(client, headers, providerId=doctor, page=page, limit=1).json()
        assert body["pagination"]["total"] == total
        assert len(body["data"]) == (1 if page <= total else 0)
    nothing = listing(client, headers, providerId=doctor, startDate="2999-01-01").json()
    assert nothing["data"] == [] and nothing["pagination"]["total"] == 0


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"limit": 101}, "limit"),
        ({"limit": 0}, "limit"),
        ({"page": 0}, "page"),
        ({"status": "done"}, "status"),
        ({"startDate": "25/11/2026"}, "startDate"),
        ({"providerId": "42"}, "providerId"),
    ],
)
def test_bad_query_parameters_are_400(client, auth, query, field):
    response = listing(client, auth(PATIENT), **query)
    assert response.status_code == 400
    assert [d["field"] for d in response.json()["error"]["details"]] == [field]


def test_the_provider_block_costs_no_query_per_row(client, auth, services):
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        # the audit trail's own bookkeeping (chain head) is not part of the listing
        if statement.lstrip().upper().startswith("SELECT") and "audit_" not in statement:
            statements.append(statement)

    headers = auth("admin@example.com")
    event.listen(services.db.engine, "before_cursor_execute", count)
    try:
        response = listing(client, headers, limit=25)
    finally:
        event.remove(services.db.engine, "before_cursor_execute", count)
    assert len(response.json()["data"]) == 25
    assert len(statements) == 1  # the joined page, its total in a window column


def test_the_owner_reads_the_detail(client, auth, db_session):
    patient = user_id(db_session, PATIENT)
    appointment_id = sorted(ids_where(db_session, Appointment.patient_id == patient))[0]
    response = client.get(f"/api/appointments/{appointment_id}", headers=auth(PATIENT))
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    row = db_session.get(Appointment, appointment_id)
    profile = db_session.scalar(
        sa.select(ProviderProfile).where(ProviderProfile.user_id == row.provider_id)
    )
    assert body["id"] == appointment_id
    assert body["provider"]["title"] == profile.title
    assert body["provider"]["phone"] == profile.phone
    assert body["provider"]["email"] == profile.email
    assert body["provider"]["npi"] == profile.npi
    for key in ("virtualMeetingUrl", "checkInTime", "checkOutTime", "location", "duration"):
        assert key in body
    assert body["virtualMeetingUrl"] == row.virtual_meeting_url


def test_another_patients_appointment_is_403_and_an_unknown_one_404(client, auth, db_session):
    theirs = sorted(
        ids_where(db_session, Appointment.patient_id == user_id(db_session, "patient2@example.com"))
    )[0]
    response = client.get(f"/api/appointments/{theirs}", headers=auth(PATIENT))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "AUTHORIZATION_ERROR"
    missing = client.get(f"/api/appointments/{UNKNOWN}", headers=auth(PATIENT))
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "NOT_FOUND"
    assert client.get("/api/appointments/nope", headers=auth(PATIENT)).status_code == 400


def test_a_doctor_reads_only_appointments_they_give(client, auth, db_session):
    doctor = user_id(db_session, "doctor1@example.com")
    own = sorted(ids_where(db_session, Appointment.provider_id == doctor))[0]
    other = sorted(ids_where(db_session, Appointment.provider_id != doctor))[0]
    headers = auth("doctor1@example.com")
    assert client.get(f"/api/appointments/{own}", headers=headers).status_code == 200
    assert client.get(f"/api/appointments/{other}", headers=headers).status_code == 403


@pytest.mark.parametrize("email", ["nurse1@example.com", "admin@example.com"])
def test_nurses_and_admins_read_any_detail(client, auth, db_session, email):
    for appointment_id in sorted(ids_where(db_session))[:5]:
        response = client.get(f"/api/appointments/{appointment_id}", headers=auth(email))
        assert response.status_code == 200


def test_reading_needs_a_token(client, db_session):
    assert client.get("/api/appointments").status_code == 401
    some = sorted(ids_where(db_session))[0]
    response = client.get(f"/api/appointments/{some}")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "AUTHENTICATION_ERROR"


def test_the_detail_shows_its_stored_values_in_one_statement(client, auth, db_session, services):
    """Each column as its type reads it (PHI decrypted, UTC instants), provider included, from
    one SELECT."""
    patient = user_id(db_session, PATIENT)
    appointment_id = sorted(ids_where(db_session, Appointment.patient_id == patient))[0]
    row = db_session.get(Appointment, appointment_id)
    row.notes, row.cancellation_reason = 'Say "hi" ünïcode 😀', "Moved: a/b <c> & d"
    row.cancelled_at = datetime(2026, 1, 2, 9, 1, 2, tzinfo=UTC)
    row.virtual_meeting_url, row.time_zone = "https://meet.example.com/x", None
    db_session.commit()
    headers = auth(PATIENT)
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        if statement.lstrip().upper().startswith("SELECT") and "audit_" not in statement:
            statements.append(statement)

    event.listen(services.db.engine, "before_cursor_execute", count)
    try:
        body = client.get(f"/api/appointments/{appointment_id}", headers=headers).json()
    finally:
        event.remove(services.db.engine, "before_cursor_execute", count)
    assert len(statements) == 1
    assert body["notes"] == 'Say "hi" ünïcode 😀'
    assert body["cancellationReason"] == "Moved: a/b <c> & d"
    assert body["cancelledAt"] == "2026-01-02T09:01:02Z"
    assert body["virtualMeetingUrl"] == "https://meet.example.com/x"
    assert body["timeZone"] == services.settings.clinic_timezone
    assert body["reason"] == row.reason and body["duration"] == row.duration
    assert (body["date"], body["time"]) == (
        row.date.isoformat(),
        row.start_time.strftime("%I:%M %p"),
    )
    assert body["createdAt"] == row.created_at.strftime("%Y-%m-%dT%H:%M:%SZ")
    profile = db_session.scalar(
        sa.select(ProviderProfile).where(ProviderProfile.user_id == row.provider_id)
    )
    assert body["provider"]["specialty"] and body["provider"]["npi"] == profile.npi
    assert body["provider"]["photoUrl"] == profile.photo_url

"""DELETE /api/appointments/{id}/cancel: the body, a freed slot, states, owners only."""

from __future__ import annotations

from datetime import UTC, datetime

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
CANCEL_REASON = "Feeling better, no longer need the visit"


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOON, tick=False):
        yield


def cancel(client, headers, appointment_id, reason=CANCEL_REASON):
    return client.request(
        "DELETE",
        f"/api/appointments/{appointment_id}/cancel",
        json={"reason": reason},
        headers=headers,
    )


def seeded(db_session, email: str, status: str, *, future: bool) -> Appointment:
    patient = user_id(db_session, email)
    query = sa.select(Appointment).where(
        Appointment.patient_id == patient, Appointment.status == status
    )
    query = query.where(
        Appointment.date > NOON.date() if future else Appointment.date < NOON.date()
    )
    found = db_session.scalars(query.order_by(Appointment.date)).first()
    assert found is not None
    return found


def test_cancel_answers_the_plans_body_and_frees_the_slot(client, auth, db_session, doctor, booked):
    reason = "Feeling better <i>now</i>\nthanks"
    response = cancel(client, auth(PATIENT), booked["id"], reason)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "message": "Appointment cancelled successfully",
        "id": booked["id"],
        "status": "cancelled",
        "cancelledAt": "2026-11-25T17:00:00Z",
        "cancellationReason": reason,
    }
    row = stored(db_session, booked["id"])
    assert row.status == "cancelled"
    assert row.cancellation_reason == reason
    assert row.cancelled_at == NOON.astimezone(UTC)
    assert live_rows_at(db_session, doctor, NEXT_WEDNESDAY, "09:00 AM") == 0
    again = client.post(
        "/api/appointments", json=booking(doctor, NEXT_WEDNESDAY, "09:00 AM"), headers=auth(OTHER)
    )
    assert again.status_code == 201
    detail = client.get(f"/api/appointments/{booked['id']}", headers=auth(PATIENT)).json()
    assert (detail["status"], detail["cancellationReason"]) == ("cancelled", reason)


def test_cancelling_twice_is_422(client, auth, booked):
    assert cancel(client, auth(PATIENT), booked["id"]).status_code == 200
    second = cancel(client, auth(PATIENT), booked["id"])
    assert second.status_code == 422
    assert second.json()["error"]["code"] == "UNPROCESSABLE_ENTITY"


def test_a_past_appointment_cannot_be_cancelled(client, auth, db_session):
    past = seeded(db_session, PATIENT, "completed", future=False)
    assert cancel(client, auth(PATIENT), past.id).status_code == 422


def test_a_scheduled_visit_whose_start_has_passed_cannot_be_cancelled(client, auth, booked):
    with time_machine.travel(datetime(2026, 12, 2, 9, 0, tzinfo=NY), tick=False):
        assert cancel(client, auth(PATIENT), booked["id"]).status_code == 422
    with time_machine.travel(datetime(2026, 12, 2, 8, 59, tzinfo=NY), tick=False):
        assert cancel(client, auth(PATIENT), booked["id"]).status_code == 200


@pytest.mark.parametrize("reason", ["too short", "x" * 501, "Bell \x07 character here"])
def test_cancel_reason_rules(client, auth, db_session, booked, reason):
    response = cancel(client, auth(PATIENT), booked["id"], reason)
    assert response.status_code == 400
    assert [d["field"] for d in response.json()["error"]["details"]] == ["reason"]
    assert stored(db_session, booked["id"]).status == "scheduled"


def test_cancel_needs_a_body(client, auth, booked):
    response = client.request(
        "DELETE", f"/api/appointments/{booked['id']}/cancel", headers=auth(PATIENT)
    )
    assert response.status_code == 400


@pytest.mark.parametrize("email", [OTHER, "provider2@clinic.example"])
def test_nobody_but_the_owner_and_the_clinic_cancels(client, auth, db_session, booked, email):
    response = cancel(client, auth(email), booked["id"])
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "AUTHORIZATION_ERROR"
    assert stored(db_session, booked["id"]).status == "scheduled"


@pytest.mark.parametrize(
    "email", ["doctor1@example.com", "nurse1@example.com", "admin@example.com"]
)
def test_staff_cancel_with_a_reason(client, auth, db_session, booked, email):
    response = cancel(client, auth(email), booked["id"], "The doctor is away at a conference")
    assert response.status_code == 200, response.text
    row = stored(db_session, booked["id"])
    assert (row.status, row.cancellation_reason) == (
        "cancelled",
        "The doctor is away at a conference",
    )


def test_a_cancel_on_a_status_seen_before_a_change_is_409(client, auth, db_session, booked):
    db_session.rollback()
    db_session.execute(
        sa.update(Appointment).where(Appointment.id == booked["id"]).values(status="confirmed")
    )
    db_session.commit()
    response = client.request(
        "DELETE",
        f"/api/appointments/{booked['id']}/cancel",
        json={"reason": CANCEL_REASON, "expectedStatus": "scheduled"},
        headers=auth("nurse1@example.com"),
    )
    assert response.status_code == 409
    assert "confirmed" in response.json()["error"]["message"]
    assert stored(db_session, booked["id"]).status == "confirmed"


def test_cancelling_an_unknown_appointment_is_404(client, auth):
    assert cancel(client, auth(PATIENT), "7d0b1d7c-3f5e-4a63-9b1e-2f0c4a7c9e11").status_code == 404


def test_cancelling_needs_a_token(client, booked):
    assert cancel(client, {}, booked["id"]).status_code == 401


def test_a_cancellation_nobody_waits_for_reads_no_more_of_the_waitlist(
    client, auth, services, booked
):
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(" ".join(statement.split()))

    headers = auth(PATIENT)
    sa.event.listen(services.db.engine, "before_cursor_execute", count)
    try:
        response = cancel(client, headers, booked["id"])
    finally:
        sa.event.remove(services.db.engine, "before_cursor_execute", count)
    assert response.status_code == 200, response.text
    # The waitlist hook still runs (under the provider's lock), but with no slot offered at that
    # start and nobody waiting, it neither reads the freed day nor writes anything.
    assert any("FROM waitlist_entries" in s for s in statements)
    assert not any("FROM provider_availability" in s for s in statements)
    assert not any("waitlist_offers" in s or "INTO waitlist_slots" in s for s in statements)

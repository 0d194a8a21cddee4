"""The waitlist through HTTP, on SQLite and MariaDB, at a frozen clock: join, a cancellation by
another patient or by staff, the offers (by the outbox and in the API), accept, the appointment, the
others told 409; expiry and refill, decline, leave, and a slot open to anyone while offered."""

from __future__ import annotations

import json
from datetime import UTC, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from kernel.clock import Clock
from models import Appointment, WaitlistEntry, WaitlistOffer, WaitlistSlot
from models.notifications.tables import OutboxMessage
from models.waitlist.use_cases import expire_and_refill
from tests.support.appointments import NEXT_WEDNESDAY, NOON, NY, booking, live_rows_at, user_id

PATIENT = "patient1@example.com"  # holds the appointment that frees
WAITING = [f"patient{n}@example.com" for n in (2, 3, 4, 5)]
REASON = "Recurring migraines, hoping to be seen sooner"


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOON, tick=False) as traveller:
        yield traveller


def join(client, auth, email, doctor, **changes):
    body = {
        "providerId": doctor,
        "startDate": (NOON.date() + timedelta(days=1)).isoformat(),
        "endDate": (NOON.date() + timedelta(days=21)).isoformat(),
        "timeOfDay": "morning",
        "type": "routine_checkup",
        "reason": REASON,
    }
    body.update(changes)
    body = {k: v for k, v in body.items() if v is not None}
    return client.post("/api/waitlist", json=body, headers=auth(email))


def cancel(client, auth, appointment_id, email=PATIENT):
    return client.request(
        "DELETE",
        f"/api/appointments/{appointment_id}/cancel",
        json={"reason": "Cannot make it any more"},
        headers=auth(email),
    )


def offers(client, auth, email):
    response = client.get("/api/waitlist/offers", headers=auth(email))
    assert response.status_code == 200, response.text
    return response.json()["data"]


def accept(client, auth, email, offer_id):
    return client.post(f"/api/waitlist/offers/{offer_id}/accept", headers=auth(email))


def run_pass(services):
    return expire_and_refill(services.db, Clock.at_clinic(NY), services.waitlist, services.outbox)


def test_join_cancel_offer_accept_books_the_slot_and_closes_the_offer(
    client, auth, db_session, doctor, booked
):
    joined = join(client, auth, WAITING[0], doctor)
    assert joined.status_code == 201, joined.text
    entry = joined.json()
    assert (entry["status"], entry["timeOfDay"], entry["providerId"]) == (
        "active",
        "morning",
        doctor,
    )
    assert cancel(client, auth, booked["id"]).status_code == 200

    [offer] = offers(client, auth, WAITING[0])
    assert offer["status"] == "open"
    assert (offer["date"], offer["time"]) == (NEXT_WEDNESDAY.isoformat(), "09:00 AM")
    assert offer["expiresAt"] == "2026-11-25T17:30:00Z"  # NOON + WAITLIST_OFFER_MINUTES
    assert offer["entryId"] == entry["id"] and offer["appointmentId"] is None

    # The offer went by the outbox, with the minimum necessary.
    db_session.rollback()  # a fresh snapshot
    waiting_id = user_id(db_session, WAITING[0])
    message = db_session.scalars(
        sa.select(OutboxMessage).where(
            OutboxMessage.kind == "waitlist_offer", OutboxMessage.recipient_id == waiting_id
        )
    ).one()
    payload = json.loads(message.payload)
    assert payload["appointmentId"] == offer["id"] and payload["time"] == "09:00"
    assert REASON not in message.payload and "Cannot make it" not in message.payload

    taken = accept(client, auth, WAITING[0], offer["id"])
    assert taken.status_code == 201, taken.text
    appointment = taken.json()
    assert taken.headers["Location"] == f"/api/appointments/{appointment['id']}"
    assert (appointment["date"], appointment["time"]) == (NEXT_WEDNESDAY.isoformat(), "09:00 AM")
    assert appointment["patientId"] == waiting_id and appointment["reason"] == REASON
    assert live_rows_at(db_session, doctor, NEXT_WEDNESDAY, "09:00 AM") == 1

    [after] = offers(client, auth, WAITING[0])
    assert (after["status"], after["appointmentId"]) == ("accepted", appointment["id"])
    [listed] = client.get("/api/waitlist", headers=auth(WAITING[0])).json()["data"]
    assert listed["status"] == "fulfilled"
    again = accept(client, auth, WAITING[0], offer["id"])
    assert again.status_code == 409
    assert again.json()["error"]["message"] == "You have already accepted this offer"


def test_the_slot_goes_to_three_in_order_of_joining_first_accept_wins_others_told_409(
    client, auth, db_session, doctor, booked, frozen
):
    for minutes, email in enumerate(WAITING):
        frozen.move_to(NOON + timedelta(seconds=minutes))  # a distinct order of joining
        assert join(client, auth, email, doctor).status_code == 201
    frozen.move_to(NOON + timedelta(minutes=1))
    assert cancel(client, auth, booked["id"]).status_code == 200

    offered = {email: offers(client, auth, email) for email in WAITING}
    assert [len(offered[e]) for e in WAITING] == [1, 1, 1, 0]  # fan-out 3, the earliest first

    second = offered[WAITING[1]][0]
    assert accept(client, auth, WAITING[1], second["id"]).status_code == 201
    late = accept(client, auth, WAITING[0], offered[WAITING[0]][0]["id"])
    assert late.status_code == 409
    assert late.json()["error"]["message"] == "This time has been taken by another patient"
    assert offers(client, auth, WAITING[0])[0]["status"] == "taken"
    assert offers(client, auth, WAITING[2])[0]["status"] == "taken"
    [still] = client.get("/api/waitlist", headers=auth(WAITING[0])).json()["data"]
    assert still["status"] == "active"  # the others stay on the list
    assert live_rows_at(db_session, doctor, NEXT_WEDNESDAY, "09:00 AM") == 1


def test_offers_expire_the_next_patient_is_offered_and_an_exhausted_slot_is_simply_free(
    client, auth, db_session, services, doctor, booked, frozen
):
    for seconds, email in enumerate(WAITING):
        frozen.move_to(NOON + timedelta(seconds=seconds))
        assert join(client, auth, email, doctor).status_code == 201
    frozen.move_to(NOON + timedelta(minutes=1))
    assert cancel(client, auth, booked["id"]).status_code == 200
    first = offers(client, auth, WAITING[0])[0]

    frozen.move_to(NOON + timedelta(minutes=30, seconds=59))
    assert run_pass(services).expired == 0  # not yet
    assert offers(client, auth, WAITING[3]) == []

    frozen.move_to(NOON + timedelta(minutes=31))
    assert offers(client, auth, WAITING[0])[0]["status"] == "expired"  # before any pass
    report = run_pass(services)
    assert (report.expired, report.sent) == (3, 1)
    [fourth] = offers(client, auth, WAITING[3])
    assert fourth["status"] == "open" and fourth["expiresAt"] == "2026-11-25T18:01:00Z"
    refused = accept(client, auth, WAITING[0], first["id"])
    assert refused.status_code == 409
    assert refused.json()["error"]["message"] == "This offer has expired"

    frozen.move_to(NOON + timedelta(minutes=61))
    report = run_pass(services)
    assert (report.expired, report.sent) == (1, 0)
    db_session.rollback()
    slot = db_session.scalars(sa.select(WaitlistSlot)).one()
    assert slot.status == "exhausted"
    assert run_pass(services).slots == 0  # nothing left to look at
    direct = client.post(
        "/api/appointments", json=booking(doctor, NEXT_WEDNESDAY, "09:00 AM"), headers=auth(PATIENT)
    )
    assert direct.status_code == 201


def test_an_offered_slot_stays_open_to_anyone_and_its_offers_then_say_taken(
    client, auth, db_session, services, doctor, booked
):
    assert join(client, auth, WAITING[0], doctor).status_code == 201
    assert cancel(client, auth, booked["id"]).status_code == 200
    [offer] = offers(client, auth, WAITING[0])

    # Not on the list, not offered: books the freed time directly, while the offer is open.
    direct = client.post(
        "/api/appointments",
        json=booking(doctor, NEXT_WEDNESDAY, "09:00 AM"),
        headers=auth(WAITING[2]),
    )
    assert direct.status_code == 201, direct.text
    assert offers(client, auth, WAITING[0])[0]["status"] == "taken"
    refused = accept(client, auth, WAITING[0], offer["id"])
    assert refused.status_code == 409
    assert "taken" in refused.json()["error"]["message"]
    assert run_pass(services).taken == 1
    db_session.rollback()
    assert db_session.scalars(sa.select(WaitlistSlot.status)).one() == "gone"
    assert live_rows_at(db_session, doctor, NEXT_WEDNESDAY, "09:00 AM") == 1


def test_declining_offers_the_slot_to_the_next_patient_at_once(
    client, auth, doctor, booked, frozen
):
    for seconds, email in enumerate(WAITING):
        frozen.move_to(NOON + timedelta(seconds=seconds))
        assert join(client, auth, email, doctor).status_code == 201
    assert cancel(client, auth, booked["id"]).status_code == 200
    [offer] = offers(client, auth, WAITING[0])
    declined = client.post(f"/api/waitlist/offers/{offer['id']}/decline", headers=auth(WAITING[0]))
    assert declined.status_code == 200, declined.text
    assert declined.json()["status"] == "declined"
    assert offers(client, auth, WAITING[3])[0]["status"] == "open"
    again = client.post(f"/api/waitlist/offers/{offer['id']}/decline", headers=auth(WAITING[0]))
    assert again.status_code == 409
    [entry] = client.get("/api/waitlist", headers=auth(WAITING[0])).json()["data"]
    assert entry["status"] == "active"


def test_a_reschedule_away_offers_the_time_it_leaves(client, auth, doctor, booked):
    assert join(client, auth, WAITING[0], doctor).status_code == 201
    moved = client.put(
        f"/api/appointments/{booked['id']}/reschedule",
        json={"date": NEXT_WEDNESDAY.isoformat(), "time": "02:00 PM"},
        headers=auth(PATIENT),
    )
    assert moved.status_code == 200, moved.text
    [offer] = offers(client, auth, WAITING[0])
    assert (offer["date"], offer["time"], offer["status"]) == (
        NEXT_WEDNESDAY.isoformat(), "09:00 AM", "open"
    )  # fmt: skip


def test_only_matching_entries_are_offered(client, auth, doctor, booked):
    afternoon = join(client, auth, WAITING[0], doctor, timeOfDay="afternoon")
    later = join(
        client, auth, WAITING[1], doctor, startDate=(NEXT_WEDNESDAY + timedelta(days=1)).isoformat()
    )
    long_visit = join(client, auth, WAITING[2], doctor, type="procedure")  # 60 min: 09:30 is free
    assert {afternoon.status_code, later.status_code, long_visit.status_code} == {201}
    assert cancel(client, auth, booked["id"]).status_code == 200
    assert offers(client, auth, WAITING[0]) == []
    assert offers(client, auth, WAITING[1]) == []
    [procedure] = offers(client, auth, WAITING[2])
    assert procedure["duration"] == 60


def test_a_specialty_entry_is_offered_its_providers_slots(client, auth, db_session, doctor, booked):
    from models import ProviderProfile

    specialty = db_session.scalar(
        sa.select(ProviderProfile.specialty).where(ProviderProfile.user_id == doctor)
    )
    joined = join(client, auth, WAITING[0], None, specialty=specialty)
    assert joined.status_code == 201, joined.text
    assert cancel(client, auth, booked["id"]).status_code == 200
    assert len(offers(client, auth, WAITING[0])) == 1


def test_leaving_withdraws_the_entrys_offers_and_the_pass_offers_them_on(
    client, auth, services, doctor, booked, frozen
):
    for seconds, email in enumerate(WAITING):
        frozen.move_to(NOON + timedelta(seconds=seconds))
        assert join(client, auth, email, doctor).status_code == 201
    assert cancel(client, auth, booked["id"]).status_code == 200
    entry = client.get("/api/waitlist", headers=auth(WAITING[0])).json()["data"][0]
    left = client.delete(f"/api/waitlist/{entry['id']}", headers=auth(WAITING[0]))
    assert left.status_code == 200 and left.json()["status"] == "left"
    assert client.get("/api/waitlist", headers=auth(WAITING[0])).json()["data"] == []
    assert offers(client, auth, WAITING[0])[0]["status"] == "withdrawn"
    assert run_pass(services).sent == 1
    assert offers(client, auth, WAITING[3])[0]["status"] == "open"
    assert (
        client.delete(f"/api/waitlist/{entry['id']}", headers=auth(WAITING[0])).status_code == 404
    )


def test_other_patients_cannot_answer_or_leave_what_is_not_theirs(client, auth, doctor, booked):
    entry = join(client, auth, WAITING[0], doctor).json()
    assert cancel(client, auth, booked["id"]).status_code == 200
    [offer] = offers(client, auth, WAITING[0])
    assert accept(client, auth, WAITING[1], offer["id"]).status_code == 403
    assert (
        client.delete(f"/api/waitlist/{entry['id']}", headers=auth(WAITING[1])).status_code == 403
    )
    assert client.get("/api/waitlist", headers=auth("doctor1@example.com")).status_code == 403
    missing = "00000000-0000-4000-8000-000000000000"
    assert accept(client, auth, WAITING[0], missing).status_code == 404


@pytest.mark.parametrize(
    ("changes", "status", "field"),
    [
        ({"endDate": (NOON.date() - timedelta(days=1)).isoformat()}, 400, "endDate"),
        ({"startDate": (NOON.date() - timedelta(days=1)).isoformat()}, 400, "startDate"),
        ({"endDate": (NOON.date() + timedelta(days=200)).isoformat()}, 400, "endDate"),
        ({"specialty": "cardiology"}, 400, None),  # both a provider and a specialty
        ({"providerId": None}, 400, None),  # neither
        ({"timeOfDay": "evening"}, 400, "timeOfDay"),
        ({"providerId": "00000000-0000-4000-8000-000000000000"}, 404, None),
    ],
)
def test_bad_entries_are_refused_clearly(client, auth, doctor, changes, status, field):
    response = join(client, auth, WAITING[0], doctor, **changes)
    assert response.status_code == status, response.text
    error = response.json()["error"]
    if field:
        assert any(field in detail["field"] for detail in error.get("details", [])), error


def test_a_patient_waits_on_at_most_the_limit_of_lists(client, auth, services, doctor):
    limit = services.waitlist.max_entries
    for _ in range(limit):
        assert join(client, auth, WAITING[0], doctor).status_code == 201
    refused = join(client, auth, WAITING[0], doctor)
    assert refused.status_code == 422
    assert str(limit) in refused.json()["error"]["message"]


def test_an_entry_expires_at_the_end_of_its_range(client, auth, doctor, frozen):
    last = NOON.date() + timedelta(days=2)
    assert join(client, auth, WAITING[0], doctor, endDate=last.isoformat()).status_code == 201
    frozen.move_to((NOON + timedelta(days=2, hours=11)).astimezone(UTC))  # 23:00 on its last day
    assert (
        client.get("/api/waitlist", headers=auth(WAITING[0])).json()["data"][0]["status"]
        == "active"
    )
    frozen.move_to(NOON + timedelta(days=3))
    assert (
        client.get("/api/waitlist", headers=auth(WAITING[0])).json()["data"][0]["status"]
        == "expired"
    )


def test_no_offers_rows_when_nobody_waits(client, auth, db_session, booked):
    assert cancel(client, auth, booked["id"]).status_code == 200
    db_session.rollback()
    assert db_session.scalar(sa.select(sa.func.count(WaitlistSlot.id))) == 0
    assert db_session.scalar(sa.select(sa.func.count(WaitlistOffer.id))) == 0
    assert db_session.scalar(sa.select(sa.func.count(WaitlistEntry.id))) == 0
    assert db_session.scalar(sa.select(sa.func.count(Appointment.id))) > 0


def test_a_longer_visit_is_not_offered_a_time_it_does_not_fit(client, auth, doctor, booked):
    neighbour = client.post(
        "/api/appointments",
        json=booking(doctor, NEXT_WEDNESDAY, "09:30 AM"),
        headers=auth(WAITING[3]),
    )
    assert neighbour.status_code == 201, neighbour.text
    assert join(client, auth, WAITING[0], doctor, type="procedure").status_code == 201
    assert join(client, auth, WAITING[1], doctor).status_code == 201
    assert cancel(client, auth, booked["id"]).status_code == 200
    assert offers(client, auth, WAITING[0]) == []  # 09:00-10:00 runs into 09:30
    assert len(offers(client, auth, WAITING[1])) == 1


@pytest.mark.parametrize(
    "staff", ["nurse1@example.com", "admin@example.com", "doctor1@example.com"]
)
def test_a_cancellation_by_staff_offers_the_slot_like_the_patients_own(
    client, auth, db_session, doctor, booked, staff
):
    assert join(client, auth, WAITING[0], doctor).status_code == 201
    cancelled = cancel(client, auth, booked["id"], email=staff)
    assert cancelled.status_code == 200, cancelled.text
    [offer] = offers(client, auth, WAITING[0])
    assert (offer["date"], offer["time"], offer["status"]) == (
        NEXT_WEDNESDAY.isoformat(), "09:00 AM", "open"
    )  # fmt: skip
    db_session.rollback()  # a fresh snapshot
    slot = db_session.scalars(sa.select(WaitlistSlot)).one()  # one entry point, called once
    assert (slot.provider_id, slot.date, slot.status) == (doctor, NEXT_WEDNESDAY, "offering")
    sent = db_session.scalars(
        sa.select(OutboxMessage).where(OutboxMessage.kind == "waitlist_offer")
    ).all()
    assert [m.recipient_id for m in sent] == [user_id(db_session, WAITING[0])]


def test_a_reschedule_by_staff_for_the_patient_offers_the_time_it_leaves(
    client, auth, db_session, doctor, booked
):
    assert join(client, auth, WAITING[0], doctor).status_code == 201
    moved = client.put(
        f"/api/appointments/{booked['id']}/reschedule",
        json={"date": NEXT_WEDNESDAY.isoformat(), "time": "02:00 PM"},
        headers=auth("nurse1@example.com"),
    )
    assert moved.status_code == 200, moved.text
    [offer] = offers(client, auth, WAITING[0])
    assert (offer["date"], offer["time"], offer["status"]) == (
        NEXT_WEDNESDAY.isoformat(), "09:00 AM", "open"
    )  # fmt: skip
    db_session.rollback()
    assert len(db_session.scalars(sa.select(WaitlistSlot)).all()) == 1

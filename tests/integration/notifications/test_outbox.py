"""The outbox end to end: a booking, a reschedule and a cancellation write their messages in
their own transaction; a worker delivers them to a real SMTP server on loopback (aiosmtpd), with
retries, leases and preferences; the calendar invitation keeps its UID and raises its SEQUENCE."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from typing import Any

import icalendar
import pytest
import sqlalchemy as sa
import time_machine

from adapters.mail import SmtpMailer
from kernel.clock import utcnow
from models.notifications import use_cases as notifications
from models.notifications.tables import OutboxMessage
from portal.runtime import Services
from tests.support.appointments import NEXT_WEDNESDAY, NOON, booking
from tests.support.smtp_server import SmtpServer, smtp_server

PATIENT = "patient1@example.com"
REASON = "Persistent headaches for two weeks"  # the booking helper's reason: never in a message


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOON, tick=False):
        yield


@pytest.fixture
def smtp():  # type: ignore[no-untyped-def]
    with smtp_server() as server:
        yield server


def mailer_for(server: SmtpServer) -> SmtpMailer:
    return SmtpMailer(server.host, server.port, starttls=False, timeout=5)


def outbox(services: Services, **where: Any) -> list[OutboxMessage]:
    with services.db.new_session() as session:
        query = sa.select(OutboxMessage).order_by(OutboxMessage.next_attempt_at)
        for column, value in where.items():
            query = query.where(getattr(OutboxMessage, column) == value)
        return list(session.scalars(query))


def deliver(services: Services, server: SmtpServer, at: datetime | None = None):  # type: ignore[no-untyped-def]
    return notifications.deliver_due(
        services.db, mailer_for(server), services.outbox, at or utcnow()
    )


def calendar_of(message: EmailMessage) -> icalendar.Event:
    (part,) = [p for p in message.iter_attachments() if p.get_content_type() == "text/calendar"]
    calendar = icalendar.Calendar.from_ical(part.get_content())
    return calendar, calendar.walk("VEVENT")[0]


def book(client, auth, doctor: str, at: str = "09:00 AM") -> dict:  # type: ignore[no-untyped-def]
    response = client.post(
        "/api/appointments",
        json=booking(doctor, NEXT_WEDNESDAY, at, notes="Fasting since midnight"),
        headers=auth(PATIENT),
    )
    assert response.status_code == 201, response.text
    return response.json()


def test_a_booking_writes_its_confirmation_and_reminders_in_its_transaction(
    client, auth, doctor, services: Services
):
    appointment = book(client, auth, doctor)
    messages = outbox(services, appointment_id=appointment["id"])
    assert [(m.kind, m.status) for m in messages] == [
        ("booked", "pending"),
        ("reminder", "pending"),
        ("reminder", "pending"),
    ]
    start = datetime(2026, 12, 2, 14, tzinfo=UTC)  # next Wednesday 09:00 New York
    assert [m.next_attempt_at for m in messages[1:]] == [
        start - timedelta(hours=72),
        start - timedelta(hours=24),
    ]
    assert len({m.message_id for m in messages}) == 3


def test_a_booking_that_rolls_back_leaves_no_message(
    client, auth, doctor, services: Services, monkeypatch
):
    def write_then_fail(session, *args, **kwargs):  # type: ignore[no-untyped-def]
        original(session, *args, **kwargs)
        raise RuntimeError("crash after the outbox write")

    original = notifications.on_booked
    monkeypatch.setattr(notifications, "on_booked", write_then_fail)
    response = client.post(
        "/api/appointments", json=booking(doctor, NEXT_WEDNESDAY, "09:00 AM"), headers=auth(PATIENT)
    )
    assert response.status_code == 500
    assert outbox(services) == []


def test_the_message_arrives_says_only_what_is_needed_and_carries_the_invitation(
    client, auth, doctor, services: Services, smtp: SmtpServer
):
    appointment = book(client, auth, doctor)
    report = deliver(services, smtp)
    assert (report.sent, report.failed) == (1, 0)  # the reminders are not due yet
    (message,) = smtp.inbox.messages
    assert message["To"].addresses[0].addr_spec == PATIENT
    assert message["Subject"] == "Your appointment is booked"
    raw = message.as_string()
    assert REASON not in raw and "Fasting" not in raw
    text = message.get_body(("plain",)).get_content()
    assert "Wednesday, December 2, 2026 at 9:00 AM" in text and "Dr. Sarah Johnson" in text
    calendar, event = calendar_of(message)
    assert calendar["METHOD"] == "REQUEST" and event["SEQUENCE"] == 0
    assert event["DTSTART"].params["TZID"] == "America/New_York"
    assert str(event["UID"]).startswith(f"appointment-{appointment['id']}@")
    (confirmation,) = outbox(services, kind="booked")
    assert (confirmation.status, confirmation.attempts) == ("sent", 1)
    assert message["Message-ID"] == confirmation.message_id


def test_a_reschedule_keeps_the_uid_raises_the_sequence_and_replans_the_reminders(
    client, auth, doctor, services: Services, smtp: SmtpServer
):
    appointment = book(client, auth, doctor)
    deliver(services, smtp)
    moved = client.put(
        f"/api/appointments/{appointment['id']}/reschedule",
        json={"date": NEXT_WEDNESDAY.isoformat(), "time": "10:00 AM"},
        headers=auth(PATIENT),
    )
    assert moved.status_code == 200, moved.text
    reminders = outbox(services, kind="reminder")
    assert sorted(m.status for m in reminders) == ["pending", "pending", "superseded", "superseded"]
    start = datetime(2026, 12, 2, 15, tzinfo=UTC)  # 10:00 New York
    assert sorted(m.next_attempt_at for m in reminders if m.status == "pending") == [
        start - timedelta(hours=72),
        start - timedelta(hours=24),
    ]
    deliver(services, smtp)
    first, second = (calendar_of(m)[1] for m in smtp.inbox.messages)  # delivered one by one
    assert first["UID"] == second["UID"]
    assert (first["SEQUENCE"], second["SEQUENCE"]) == (0, 1)
    assert second["DTSTART"].dt.hour == 10
    assert smtp.inbox.messages[1]["Subject"] == "Your appointment has changed"


def test_a_cancellation_sends_method_cancel_and_drops_the_reminders(
    client, auth, doctor, services: Services, smtp: SmtpServer
):
    appointment = book(client, auth, doctor)
    response = client.request(
        "DELETE",
        f"/api/appointments/{appointment['id']}/cancel",
        json={"reason": "A private reason for cancelling"},
        headers=auth(PATIENT),
    )
    assert response.status_code == 200
    assert {m.status for m in outbox(services, kind="reminder")} == {"superseded"}
    deliver(services, smtp)
    subjects = {m["Subject"]: m for m in smtp.inbox.messages}
    assert set(subjects) == {"Your appointment is booked", "Your appointment is cancelled"}
    cancellation = subjects["Your appointment is cancelled"]
    assert "A private reason" not in cancellation.as_string()
    calendar, event = calendar_of(cancellation)
    assert calendar["METHOD"] == "CANCEL" and event["SEQUENCE"] == 1
    assert event["STATUS"] == "CANCELLED"


def test_a_mail_server_that_is_down_never_fails_the_booking_and_gets_the_mail_later(
    client, auth, doctor, services: Services
):
    with smtp_server() as stopped:
        host, port = stopped.host, stopped.port
    down = SmtpMailer(host, port, starttls=False, timeout=2)  # nothing listens there now
    appointment = book(client, auth, doctor)  # answered 201 whatever the mail server does
    report = notifications.deliver_due(services.db, down, services.outbox, utcnow())
    assert (report.sent, report.failed) == (0, 1)
    (waiting,) = outbox(services, kind="booked")
    assert (waiting.status, waiting.attempts) == ("pending", 1)
    assert waiting.next_attempt_at > utcnow() and waiting.last_error
    with smtp_server() as back:
        assert deliver(services, back).sent == 0  # not due again yet
        later = deliver(services, back, utcnow() + timedelta(minutes=2))
        assert later.sent == 1
        assert back.inbox.message_ids() == [waiting.message_id]
    assert outbox(services, kind="booked")[0].status == "sent"
    assert appointment["status"] == "scheduled"


def test_after_the_last_attempt_a_message_is_dead_and_admins_see_it(
    client, auth, doctor, services: Services, smtp: SmtpServer
):
    book(client, auth, doctor)
    smtp.inbox.refuse = True
    at = utcnow()
    for _ in range(services.outbox.max_attempts):
        deliver(services, smtp, at)
        at += timedelta(hours=2)  # past the longest backoff
    (dead,) = outbox(services, kind="booked")
    assert (dead.status, dead.attempts) == ("dead", services.outbox.max_attempts)
    assert "451" in (dead.last_error or "")
    listed = client.get("/api/admin/notifications?status=dead", headers=auth("admin@example.com"))
    assert listed.status_code == 200
    assert [m["messageId"] for m in listed.json()["data"]] == [dead.message_id]
    assert client.get("/api/admin/notifications", headers=auth(PATIENT)).status_code == 403


def test_a_message_whose_worker_died_after_sending_goes_again_with_the_same_message_id(
    client, auth, doctor, services: Services, smtp: SmtpServer
):
    """The worker handed the message over and died before recording it: its lease expires and
    the next worker sends it again, recognisably the same message."""
    book(client, auth, doctor)
    now = utcnow()
    with services.db.new_session() as session:  # the dead worker's claim, never finished
        from models.notifications.queries import claim_due

        (claimed,) = claim_due(session, now, now + services.outbox.lease, limit=1)
        session.commit()
    assert deliver(services, smtp, now + timedelta(seconds=1)).sent == 0  # still leased
    later = deliver(services, smtp, now + services.outbox.lease + timedelta(seconds=1))
    assert later.sent == 1
    assert smtp.inbox.message_ids() == [claimed.message_id]


def test_reminders_switched_off_are_skipped_but_the_confirmation_goes(
    client, auth, doctor, services: Services, smtp: SmtpServer
):
    headers = auth(PATIENT)
    assert client.get("/api/notifications/preferences", headers=headers).json() == {
        "reminders": {"email": True}
    }
    off = client.put(
        "/api/notifications/preferences", json={"reminders": {"email": False}}, headers=headers
    )
    assert off.status_code == 200 and off.json() == {"reminders": {"email": False}}
    book(client, auth, doctor)
    report = deliver(services, smtp, datetime(2026, 12, 2, 13, tzinfo=UTC))  # both reminders due
    assert (report.sent, report.skipped) == (1, 2)
    assert [m["Subject"] for m in smtp.inbox.messages] == ["Your appointment is booked"]
    assert (
        client.get("/api/notifications/preferences", headers=auth("nurse1@example.com")).status_code
        == 403
    )


def test_the_calendar_endpoint_serves_the_invitation_to_whoever_may_see_it(client, auth, doctor):
    appointment = book(client, auth, doctor)
    url = f"/api/appointments/{appointment['id']}/calendar.ics"
    mine = client.get(url, headers=auth(PATIENT))
    assert mine.status_code == 200
    assert mine.headers["content-type"].startswith("text/calendar")
    event = icalendar.Calendar.from_ical(mine.content).walk("VEVENT")[0]
    assert str(event["UID"]).startswith(f"appointment-{appointment['id']}@")
    assert client.get(url, headers=auth("doctor1@example.com")).status_code == 200
    assert client.get(url, headers=auth("patient2@example.com")).status_code == 403
    client.request(
        "DELETE",
        f"/api/appointments/{appointment['id']}/cancel",
        json={"reason": "Cannot make it that day"},
        headers=auth(PATIENT),
    )
    cancelled = icalendar.Calendar.from_ical(client.get(url, headers=auth(PATIENT)).content)
    assert cancelled["METHOD"] == "CANCEL"


def test_stored_messages_hold_no_plain_visit_details(client, auth, doctor, services: Services):
    book(client, auth, doctor)
    with services.db.engine.connect() as connection:
        payloads = connection.exec_driver_sql("SELECT payload FROM notification_outbox").scalars()
        for payload in payloads:
            assert payload.startswith("v1:") and "Johnson" not in payload


def test_a_message_parses_with_the_email_package(client, auth, doctor, services, smtp):  # type: ignore[no-untyped-def]
    book(client, auth, doctor)
    deliver(services, smtp)
    raw = smtp.inbox.messages[0].as_bytes()
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed.is_multipart() and parsed.defects == []
    assert {p.get_content_type() for p in parsed.walk()} >= {
        "text/plain",
        "text/html",
        "text/calendar",
    }

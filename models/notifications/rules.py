"""What a notification says and when it goes, as plain functions over plain values: the
reminder times, the retry schedule, the email (text, HTML, calendar invitation) of a message.

A message carries the minimum necessary: date, time, time zone, provider, location or video
link, and where to reschedule or cancel; never the visit's reason, notes or anything clinical;
its subject is generic.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape

MESSAGE_KINDS = (
    "booked", "rescheduled", "cancelled", "status_changed", "reminder", "waitlist_offer"
)  # fmt: skip
MESSAGE_STATUSES = ("pending", "sent", "skipped", "dead", "superseded")
CHANNELS = ("email",)
# Kinds a patient may switch off; notices of what happened to their appointment always go.
OPTIONAL_KINDS = frozenset({"reminder"})

SUBJECTS = {
    "booked": "Your appointment is booked",
    "rescheduled": "Your appointment has changed",
    "cancelled": "Your appointment is cancelled",
    "status_changed": "An update about your appointment",
    "reminder": "Appointment reminder",
    "waitlist_offer": "An earlier appointment time is available",
}
# Kinds about a time offered, not an appointment held: no calendar invitation, and their link
# goes to the offer (whose id the message's `appointment_id` field then carries).
OFFER_KINDS = frozenset({"waitlist_offer"})


@dataclass(frozen=True)
class Visit:
    """An appointment as its messages describe it (plain values; no reason, no notes)."""

    appointment_id: str
    day: date
    start: time
    minutes: int
    zone: str
    provider: str
    location: str | None
    meeting_url: str | None
    status: str
    sequence: int
    # An offer's answer-by instant (waitlist offers only).
    expires_at: datetime | None = None

    @property
    def starts_at(self) -> datetime:
        return datetime.combine(self.day, self.start, tzinfo=ZoneInfo(self.zone))

    def as_payload(self) -> dict[str, Any]:
        return {
            "appointmentId": self.appointment_id,
            "date": self.day.isoformat(),
            "time": self.start.strftime("%H:%M"),
            "minutes": self.minutes,
            "zone": self.zone,
            "provider": self.provider,
            "location": self.location,
            "meetingUrl": self.meeting_url,
            "status": self.status,
            "sequence": self.sequence,
        } | ({"expiresAt": self.expires_at.isoformat()} if self.expires_at else {})

    @classmethod
    def from_payload(cls, payload: dict[str, Any]) -> Visit:
        return cls(
            appointment_id=payload["appointmentId"],
            day=date.fromisoformat(payload["date"]),
            start=time.fromisoformat(payload["time"]),
            minutes=int(payload["minutes"]),
            zone=payload["zone"],
            provider=payload["provider"],
            location=payload.get("location"),
            meeting_url=payload.get("meetingUrl"),
            status=payload["status"],
            sequence=int(payload["sequence"]),
            expires_at=datetime.fromisoformat(payload["expiresAt"])
            if payload.get("expiresAt")
            else None,
        )


def reminder_times(visit: Visit, lead_times: Sequence[timedelta], now: datetime) -> list[datetime]:
    """When each reminder goes, in UTC: the lead time before the start on the location's wall
    clock (a reminder 24 h before a 09:00 visit goes at 09:00 the day before, across a
    daylight-saving change too), only those still ahead of `now`."""
    wall_start = datetime.combine(visit.day, visit.start)
    zone = ZoneInfo(visit.zone)
    due = [(wall_start - lead).replace(tzinfo=zone).astimezone(UTC) for lead in lead_times]
    return sorted(at for at in due if at > now.astimezone(UTC))


def retry_delay(
    attempts: int, base_seconds: float, cap_seconds: float, rng: random.Random | None = None
) -> timedelta:
    """How long a message waits after its `attempts`-th failed attempt: exponential in the
    attempts, capped, with jitter (a random half of the step), so a mail server coming back
    is not met by every waiting message at once."""
    step = min(cap_seconds, base_seconds * 2 ** max(attempts - 1, 0))
    jitter = (rng or random).uniform(0, step / 2)
    return timedelta(seconds=step / 2 + jitter)


def new_message_id(mail_from: str) -> str:
    """A globally unique Message-ID in the sender's domain."""
    domain = parseaddr(mail_from)[1].rpartition("@")[2] or "portal.invalid"
    return f"<{uuid.uuid4().hex}@{domain}>"


def calendar_uid(appointment_id: str, mail_from: str) -> str:
    """One UID per appointment for ever, so calendar apps update their entry in place."""
    domain = parseaddr(mail_from)[1].rpartition("@")[2] or "portal.invalid"
    return f"appointment-{appointment_id}@{domain}"


_templates = Environment(
    loader=PackageLoader("models.notifications", "templates"),
    autoescape=select_autoescape(enabled_extensions=("html.j2",)),
    undefined=StrictUndefined,
    keep_trailing_newline=True,
)


def _wall_clock(visit: Visit) -> dict[str, str]:
    start = visit.starts_at
    return {
        "date": start.strftime("%A, %B %-d, %Y"),
        "time": start.strftime("%-I:%M %p"),
        "zone": f"{start.tzname()} ({visit.zone})",
    }


def _answer_by(visit: Visit) -> str | None:
    """An offer's answer-by time on the visit's wall clock ("3:30 PM EST")."""
    if visit.expires_at is None:
        return None
    local = visit.expires_at.astimezone(ZoneInfo(visit.zone))
    return f"{local.strftime('%-I:%M %p')} {local.tzname()}"


def invitation(visit: Visit, mail_from: str, attendee: str, now: datetime, method: str) -> bytes:
    """The visit as an iCalendar (RFC 5545) object: REQUEST while it stands, CANCEL when it is
    cancelled; the same UID for ever and a SEQUENCE that grows with every change, start and end
    in the location's time zone (TZID) with its VTIMEZONE."""
    cal = icalendar.Calendar()
    cal.add("prodid", "-//Patient Portal//Appointments//EN")
    cal.add("version", "2.0")
    cal.add("method", method)
    event = icalendar.Event()
    event.add("uid", calendar_uid(visit.appointment_id, mail_from))
    event.add("sequence", visit.sequence)
    event.add("dtstamp", now.astimezone(UTC))
    event.add("dtstart", visit.starts_at)
    event.add("dtend", visit.starts_at + timedelta(minutes=visit.minutes))
    event.add("summary", f"Appointment with {visit.provider}")
    if visit.meeting_url:
        event.add("location", "Video visit")
        event.add("url", visit.meeting_url)
    elif visit.location:
        event.add("location", visit.location)
    event.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    name, address = parseaddr(mail_from)
    organizer = icalendar.vCalAddress(f"mailto:{address}")
    organizer.params["cn"] = name or address
    event.add("organizer", organizer)
    guest = icalendar.vCalAddress(f"mailto:{attendee}")
    guest.params["role"] = "REQ-PARTICIPANT"
    guest.params["rsvp"] = "FALSE"
    event.add("attendee", guest)
    cal.add_component(event)
    cal.add_missing_timezones()
    return bytes(cal.to_ical())


def compose(
    kind: str,
    visit: Visit,
    *,
    message_id: str,
    mail_from: str,
    recipient: str,
    recipient_name: str,
    portal_url: str,
    now: datetime,
) -> EmailMessage:
    """The email of one message: plain text and HTML from the templates, and the visit's
    calendar invitation attached (a cancellation's carries METHOD:CANCEL)."""
    method = "CANCEL" if kind == "cancelled" else "REQUEST"
    offer = kind in OFFER_KINDS
    page = "waitlist/offers" if offer else "appointments"
    values = {
        "kind": kind,
        "name": recipient_name,
        "visit": visit,
        "when": _wall_clock(visit),
        "answer_by": _answer_by(visit),
        "link": f"{portal_url.rstrip('/')}/{page}/{visit.appointment_id}",
    }
    message = EmailMessage()
    message["Subject"] = SUBJECTS[kind]
    message["From"] = mail_from
    message["To"] = Address(display_name=recipient_name, addr_spec=recipient)
    message["Message-ID"] = message_id
    message["Date"] = format_datetime(now.astimezone(UTC))
    message.set_content(_templates.get_template("message.txt.j2").render(values))
    message.add_alternative(
        _templates.get_template("message.html.j2").render(values), subtype="html"
    )
    if offer:  # nothing is booked yet: no invitation to put in a calendar
        return message
    message.add_attachment(
        invitation(visit, mail_from, recipient, now, method).decode(),
        subtype="calendar",
        filename="appointment.ics",
        params={"method": method},
    )
    return message

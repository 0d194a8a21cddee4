"""The notification rules: when reminders go, how retries back off, what a message and its
calendar invitation say."""

from __future__ import annotations

import email
import email.policy
import random
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest

from models.notifications.rules import (
    OFFER_KINDS,
    SUBJECTS,
    Visit,
    calendar_uid,
    compose,
    invitation,
    new_message_id,
    reminder_times,
    retry_delay,
)

NY = ZoneInfo("America/New_York")
CHICAGO = ZoneInfo("America/Chicago")
FROM = "Patient Portal <no-reply@portal.example>"
LEADS = (timedelta(hours=72), timedelta(hours=24))


def visit(day: date = date(2026, 12, 9), start: time = time(9), zone: str = "America/New_York",
          **changes: object) -> Visit:  # fmt: skip
    values: dict[str, object] = {
        "appointment_id": "a1b2c3",
        "day": day,
        "start": start,
        "minutes": 30,
        "zone": zone,
        "provider": "Dr. Sarah Johnson",
        "location": "12 Main St, Boston, MA 02114",
        "meeting_url": None,
        "status": "scheduled",
        "sequence": 0,
    }
    values.update(changes)
    return Visit(**values)  # type: ignore[arg-type]


def test_reminders_go_at_the_lead_times_before_the_start():
    now = datetime(2026, 12, 1, 12, tzinfo=NY)
    assert reminder_times(visit(), LEADS, now) == [
        datetime(2026, 12, 6, 9, tzinfo=NY).astimezone(UTC),
        datetime(2026, 12, 8, 9, tzinfo=NY).astimezone(UTC),
    ]


def test_reminders_already_past_are_not_planned():
    now = datetime(2026, 12, 7, 12, tzinfo=NY)  # 45 hours before: the 72 h reminder is past
    assert reminder_times(visit(), LEADS, now) == [datetime(2026, 12, 8, 14, tzinfo=UTC)]
    assert reminder_times(visit(), LEADS, datetime(2026, 12, 9, 8, tzinfo=NY)) == []


@pytest.mark.parametrize(
    ("day", "zone", "expected_utc"),
    [
        # Spring forward (Sunday 8 March 2026): the 24 h reminder of a Monday 09:00 EDT visit goes
        # Sunday 09:00 EDT, 23 real hours before it.
        (date(2026, 3, 9), "America/New_York", datetime(2026, 3, 8, 13, tzinfo=UTC)),
        # Fall back (Sunday 1 November 2026): Sunday 09:00 CST, 25 real hours before.
        (date(2026, 11, 2), "America/Chicago", datetime(2026, 11, 1, 15, tzinfo=UTC)),
    ],
)
def test_a_reminder_keeps_the_wall_clock_across_daylight_saving(day, zone, expected_utc):
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert reminder_times(visit(day=day, zone=zone), (timedelta(hours=24),), now) == [expected_utc]


def test_retries_back_off_exponentially_with_jitter_up_to_a_cap():
    rng = random.Random(7)
    delays = [retry_delay(n, 30, 3600, rng).total_seconds() for n in range(1, 10)]
    for attempt, seconds in enumerate(delays, start=1):
        step = min(3600, 30 * 2 ** (attempt - 1))
        assert step / 2 <= seconds <= step
    assert delays[-1] <= 3600
    assert len({round(d, 3) for d in delays[-3:]}) == 3  # jitter: capped waits still differ


def test_message_ids_are_unique_and_in_the_senders_domain():
    first, second = new_message_id(FROM), new_message_id(FROM)
    assert first != second
    assert first.startswith("<") and first.endswith("@portal.example>")
    assert calendar_uid("a1", FROM) == calendar_uid("a1", FROM) == "appointment-a1@portal.example"


def _event(ics: bytes) -> tuple[icalendar.Calendar, icalendar.Event]:
    calendar = icalendar.Calendar.from_ical(ics)
    return calendar, calendar.walk("VEVENT")[0]


def test_the_invitation_is_in_the_locations_zone_with_its_vtimezone():
    now = datetime(2026, 12, 1, tzinfo=UTC)
    calendar, event = _event(
        invitation(visit(zone="America/Chicago"), FROM, "p@example.com", now, "REQUEST")
    )
    assert calendar["METHOD"] == "REQUEST"
    assert event["DTSTART"].params["TZID"] == "America/Chicago"
    assert event["DTSTART"].dt == datetime(2026, 12, 9, 9, tzinfo=CHICAGO)
    assert event["DTEND"].dt - event["DTSTART"].dt == timedelta(minutes=30)
    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == ["America/Chicago"]
    assert event["UID"] == "appointment-a1b2c3@portal.example"
    assert event["SEQUENCE"] == 0


def test_the_invitation_carries_the_right_offset_after_a_daylight_saving_change():
    now = datetime(2026, 1, 1, tzinfo=UTC)
    before = _event(invitation(visit(day=date(2026, 3, 6)), FROM, "p@x.example", now, "REQUEST"))
    after = _event(invitation(visit(day=date(2026, 3, 9)), FROM, "p@x.example", now, "REQUEST"))
    assert before[1]["DTSTART"].dt.utcoffset() == timedelta(hours=-5)
    assert after[1]["DTSTART"].dt.utcoffset() == timedelta(hours=-4)
    assert before[1]["DTSTART"].dt.time() == after[1]["DTSTART"].dt.time() == time(9)


def _offset_by_vtimezone(vtimezone: icalendar.Timezone, local: datetime) -> timedelta:
    """The UTC offset a calendar client reads for the wall time `local` from the VTIMEZONE
    alone (the latest STANDARD or DAYLIGHT onset at or before it), not from our tz database."""
    onsets: list[tuple[datetime, timedelta]] = []
    for part in vtimezone.walk():
        if part.name not in ("STANDARD", "DAYLIGHT"):
            continue
        starts = [part["DTSTART"].dt]
        rdates = part.get("RDATE", [])
        for listed in rdates if isinstance(rdates, list) else [rdates]:
            starts += [each.dt for each in listed.dts]
        onsets += [(start.replace(tzinfo=None), part["TZOFFSETTO"].td) for start in starts]
    return max(onset for onset in onsets if onset[0] <= local.replace(tzinfo=None))[1]


@pytest.mark.parametrize(
    ("zone", "day", "offset"),
    [
        # The clinic's (seeded) zone and a second US zone, each on the Monday after the spring
        # change (Sunday 8 March 2026) and after the autumn change (Sunday 1 November 2026).
        ("America/New_York", date(2026, 3, 9), timedelta(hours=-4)),
        ("America/New_York", date(2026, 11, 2), timedelta(hours=-5)),
        ("America/Los_Angeles", date(2026, 3, 9), timedelta(hours=-7)),
        ("America/Los_Angeles", date(2026, 11, 2), timedelta(hours=-8)),
    ],
)
def test_the_invitation_keeps_the_booked_wall_time_its_tzid_and_vtimezone_across_dst(
    zone, day, offset
):
    now = datetime(2026, 1, 1, tzinfo=UTC)
    ics = invitation(visit(day=day, zone=zone), FROM, "p@x.example", now, "REQUEST")
    assert f"DTSTART;TZID={zone}:{day:%Y%m%d}T090000" in ics.decode()  # 09:00 as booked
    calendar, event = _event(ics)
    assert event["DTSTART"].params["TZID"] == event["DTEND"].params["TZID"] == zone
    assert event["DTSTART"].dt == datetime.combine(day, time(9), ZoneInfo(zone))
    assert event["DTSTART"].dt.utcoffset() == offset
    [vtimezone] = calendar.walk("VTIMEZONE")
    assert vtimezone["TZID"] == zone
    assert _offset_by_vtimezone(vtimezone, event["DTSTART"].dt) == offset


def test_a_cancellation_says_cancel_and_a_change_raises_the_sequence():
    now = datetime(2026, 12, 1, tzinfo=UTC)
    calendar, event = _event(
        invitation(visit(status="cancelled", sequence=3), FROM, "p@x.example", now, "CANCEL")
    )
    assert calendar["METHOD"] == "CANCEL" and event["STATUS"] == "CANCELLED"
    assert event["SEQUENCE"] == 3


def test_a_video_visit_names_its_link_not_an_address():
    now = datetime(2026, 12, 1, tzinfo=UTC)
    _, event = _event(
        invitation(
            visit(meeting_url="https://meet.example/abc", location=None),
            FROM,
            "p@x.example",
            now,
            "REQUEST",
        )
    )
    assert event["URL"] == "https://meet.example/abc" and event["LOCATION"] == "Video visit"


@pytest.mark.parametrize("kind", sorted(set(SUBJECTS) - OFFER_KINDS))
def test_every_message_has_a_generic_subject_text_html_and_the_invitation(kind):
    message = compose(
        kind,
        visit(status="cancelled" if kind == "cancelled" else "scheduled"),
        message_id="<m1@portal.example>",
        mail_from=FROM,
        recipient="emily@example.com",
        recipient_name="Emily Carter",
        portal_url="https://portal.example",
        now=datetime(2026, 12, 1, tzinfo=UTC),
    )
    parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    assert parsed["Subject"] == SUBJECTS[kind]
    assert "Johnson" not in parsed["Subject"] and "Main St" not in parsed["Subject"]
    assert parsed["Message-ID"] == "<m1@portal.example>"
    text = parsed.get_body(("plain",)).get_content()
    html = parsed.get_body(("html",)).get_content()
    for body in (text, html):
        assert "Wednesday, December 9, 2026" in body and "9:00 AM" in body
        assert "America/New_York" in body and "Dr. Sarah Johnson" in body
        assert "https://portal.example/appointments/a1b2c3" in body
    calendars = [p for p in parsed.iter_attachments() if p.get_content_type() == "text/calendar"]
    assert len(calendars) == 1
    method = "CANCEL" if kind == "cancelled" else "REQUEST"
    assert calendars[0].get_param("method") == method
    assert icalendar.Calendar.from_ical(calendars[0].get_content())["METHOD"] == method


def test_a_waitlist_offer_says_when_it_ends_links_to_the_offer_and_carries_no_invitation():
    ends = datetime(2026, 12, 1, 20, 30, tzinfo=UTC)  # 3:30 PM in New York
    message = compose(
        "waitlist_offer",
        visit(appointment_id="offer-1", status="offered", expires_at=ends),
        message_id="<m3@portal.example>",
        mail_from=FROM,
        recipient="emily@example.com",
        recipient_name="Emily Carter",
        portal_url="https://portal.example",
        now=datetime(2026, 12, 1, 20, tzinfo=UTC),
    )
    parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    assert parsed["Subject"] == "An earlier appointment time is available"
    for part in (("plain",), ("html",)):
        body = parsed.get_body(part).get_content()
        assert "Wednesday, December 9, 2026" in body and "9:00 AM" in body
        assert "3:30 PM EST" in body
        assert "https://portal.example/waitlist/offers/offer-1" in body
        assert "calendar" not in body
    assert list(parsed.iter_attachments()) == []


def test_an_offers_payload_keeps_its_end():
    ends = datetime(2026, 12, 1, 20, 30, tzinfo=UTC)
    offered = visit(expires_at=ends)
    assert Visit.from_payload(offered.as_payload()) == offered
    assert "expiresAt" not in visit().as_payload()


def test_the_html_escapes_what_it_shows():
    message = compose(
        "booked",
        visit(location="<script>alert(1)</script> St"),
        message_id="<m2@portal.example>",
        mail_from=FROM,
        recipient="emily@example.com",
        recipient_name="Emily <b>Carter</b>",
        portal_url="https://portal.example",
        now=datetime(2026, 12, 1, tzinfo=UTC),
    )
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert "<script>" not in html and "&lt;script&gt;" in html and "<b>" not in html

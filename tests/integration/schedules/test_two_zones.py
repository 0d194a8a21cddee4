"""Booking across two zones: a doctor works in Los Angeles, the clinic's zone is
New York. Slots, "past" and "2 hours before" follow the location's zone; answers carry it."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from tests.support.appointments import booking
from tests.support.schedules import add_west_coast_doctor, schedule_url, slots_on

LA = ZoneInfo("America/Los_Angeles")
WEDNESDAY = date(2026, 11, 25)  # the seed day
# 10:30 in Los Angeles is 13:30 in New York: the NY morning is over, LA's is not.
LA_MORNING = datetime(2026, 11, 25, 10, 30, tzinfo=LA)
PATIENT = "patient1@example.com"


@pytest.fixture
def west(db_session) -> str:  # type: ignore[no-untyped-def]
    return add_west_coast_doctor(db_session)


def test_todays_slots_are_past_or_not_by_the_locations_clock(client, auth, west, doctor):
    with time_machine.travel(LA_MORNING, tick=False):
        body = slots_on(client, auth(PATIENT), west, WEDNESDAY)
        assert body["timeZone"] == "America/Los_Angeles"
        assert body["slots"] == ["11:00 AM", "11:30 AM", "01:00 PM", "01:30 PM", "02:00 PM",
                                 "02:30 PM"]  # fmt: skip
        # the New York doctor's 11:00 is past at the same instant
        assert slots_on(client, auth(PATIENT), doctor, WEDNESDAY)["slots"][0] == "02:00 PM"


def test_booking_at_a_west_coast_time_uses_its_zone(client, auth, west):
    with time_machine.travel(LA_MORNING, tick=False):
        past = client.post(
            "/api/appointments", json=booking(west, WEDNESDAY, "10:00 AM"), headers=auth(PATIENT)
        )
        assert past.status_code == 400
        made = client.post(
            "/api/appointments", json=booking(west, WEDNESDAY, "11:00 AM"), headers=auth(PATIENT)
        )
        assert made.status_code == 201, made.text
        assert (made.json()["time"], made.json()["timeZone"]) == ("11:00 AM", "America/Los_Angeles")
        listed = client.get(f"/api/appointments/{made.json()['id']}", headers=auth(PATIENT))
        assert listed.json()["timeZone"] == "America/Los_Angeles"


def test_two_hours_notice_is_counted_on_the_locations_clock(client, auth, west):
    with time_machine.travel(LA_MORNING, tick=False):
        made = client.post(
            "/api/appointments", json=booking(west, WEDNESDAY, "01:00 PM"), headers=auth(PATIENT)
        )
        assert made.status_code == 201, made.text
    move = {"date": "2026-11-30", "time": "09:00 AM"}
    url = f"/api/appointments/{made.json()['id']}/reschedule"
    # 11:15 in LA: 1 h 45 min before 13:00 there (in New York it would be 2 h 45 min)
    with time_machine.travel(datetime(2026, 11, 25, 11, 15, tzinfo=LA), tick=False):
        assert client.put(url, json=move, headers=auth(PATIENT)).status_code == 422
    # 10:45 in LA: 2 h 15 min before
    with time_machine.travel(datetime(2026, 11, 25, 10, 45, tzinfo=LA), tick=False):
        moved = client.put(url, json=move, headers=auth(PATIENT))
        assert moved.status_code == 200, moved.text
        assert moved.json()["timeZone"] == "America/Los_Angeles"


def test_the_west_coast_schedule_and_its_changes_read_in_its_zone(client, auth, west):
    saturday, day_off = date(2026, 12, 5), date(2026, 12, 4)
    with time_machine.travel(LA_MORNING, tick=False):
        admin = auth("admin@example.com")
        windows = client.get(schedule_url(west, "availability"), headers=admin).json()["windows"]
        assert {w["timeZone"] for w in windows} == {"America/Los_Angeles"}
        extra = {"date": saturday.isoformat(), "startTime": "09:00 AM", "endTime": "12:00 PM"}
        made = client.post(schedule_url(west, "extra-hours"), json=extra, headers=admin)
        assert made.status_code == 201, made.text
        assert made.json()["timeZone"] == "America/Los_Angeles"
        body = slots_on(client, auth(PATIENT), west, saturday)
        assert (body["slots"][0], body["timeZone"]) == ("09:00 AM", "America/Los_Angeles")
        off = {"startDate": day_off.isoformat()}
        assert (
            client.post(schedule_url(west, "time-off"), json=off, headers=admin).status_code == 201
        )
        assert slots_on(client, auth(PATIENT), west, day_off)["slots"] == []

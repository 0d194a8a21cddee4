"""Schedule changes through HTTP on SQLite and MariaDB: validation answers 400 naming the
fields; hours holding bookings are refused with 409 naming them, or kept with `conflicts:
keep`; changes apply to slots and booking at once; hours a change opens go to the waitlist."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
import time_machine

from models import Appointment, WaitlistOffer
from tests.support.appointments import NOON, booking, stored
from tests.support.schedules import (
    MONDAY,
    SATURDAY,
    schedule_rows,
    schedule_url,
    slots_on,
    windows_body,
)

DOCTOR = "doctor1@example.com"
PATIENT = "patient1@example.com"
WAITING = "patient2@example.com"


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOON, tick=False):
        yield


@pytest.fixture
def me(auth):  # type: ignore[no-untyped-def]
    return auth(DOCTOR)


def fields(response) -> list[str]:  # type: ignore[no-untyped-def]
    return [d["field"] for d in response.json()["error"]["details"]]


def book_monday(client, auth, doctor, at="10:00 AM", who=PATIENT):  # type: ignore[no-untyped-def]
    response = client.post("/api/appointments", json=booking(doctor, MONDAY, at), headers=auth(who))
    assert response.status_code == 201, response.text
    return response.json()["id"]


def weekly(client, me, doctor):  # type: ignore[no-untyped-def]
    return client.get(schedule_url(doctor, "availability"), headers=me).json()["windows"]


# -- validation -------------------------------------------------------------------------------


def test_weekly_windows_off_the_grid_backwards_or_overlapping_are_400_by_field(
    client, me, db_session, doctor
):
    location = weekly(client, me, doctor)[0]["locationId"]
    body = {
        "windows": [
            {"dayOfWeek": "monday", "startTime": "09:15 AM", "endTime": "12:00 PM"},
            {"dayOfWeek": "tuesday", "startTime": "05:00 PM", "endTime": "09:00 AM"},
            {"dayOfWeek": "wednesday", "startTime": "09:00 AM", "endTime": "12:00 PM"},
            {"dayOfWeek": "wednesday", "startTime": "11:00 AM", "endTime": "01:00 PM",
             "locationId": location},
            {"dayOfWeek": "thursday", "startTime": "09:00 AM", "endTime": "10:00 AM",
             "locationId": "7d0b1d7c-3f5e-4a63-9b1e-2f0c4a7c9e11"},
        ]
    }  # fmt: skip
    before = schedule_rows(db_session, doctor)
    response = client.put(schedule_url(doctor, "availability"), json=body, headers=me)
    assert response.status_code == 400, response.text
    assert sorted(fields(response)) == [
        "windows[0]", "windows[1]", "windows[3]", "windows[4].locationId",
    ]  # fmt: skip
    assert schedule_rows(db_session, doctor) == before


def test_a_malformed_window_is_400_from_the_contract(client, me, doctor):
    body = {"windows": [{"dayOfWeek": "funday", "startTime": "9", "endTime": "12:00 PM"}]}
    response = client.put(schedule_url(doctor, "availability"), json=body, headers=me)
    assert response.status_code == 400
    assert response.json()["error"]["details"]


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"startDate": "2027-01-12", "endDate": "2027-01-11"}, ["endDate"]),
        ({"startDate": "2027-01-11", "startTime": "02:00 PM", "endTime": "01:00 PM"}, ["endTime"]),
        ({"startDate": "2027-01-11", "startTime": "02:10 PM"}, ["startTime"]),
        ({"startDate": "2026-11-01", "endDate": "2026-11-20"}, ["endDate"]),
    ],
    ids=["backwards", "times backwards", "off the grid", "in the past"],
)
def test_time_off_that_does_not_make_sense_is_400_by_field(
    client, me, db_session, doctor, body, expected
):
    response = client.post(schedule_url(doctor, "time-off"), json=body, headers=me)
    assert response.status_code == 400, response.text
    assert fields(response) == expected
    assert schedule_rows(db_session, doctor)["time-off"] == 0


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"startTime": "09:10 AM", "endTime": "12:00 PM"}, ["startTime"]),
        ({"startTime": "12:00 PM", "endTime": "09:00 AM"}, ["startTime"]),
        ({"date": "2026-11-20"}, ["date"]),
        ({"date": "2027-08-01"}, ["date"]),
        ({"locationId": "7d0b1d7c-3f5e-4a63-9b1e-2f0c4a7c9e11"}, ["locationId"]),
    ],
    ids=["off the grid", "backwards", "past", "beyond the horizon", "not the provider's"],
)
def test_extra_hours_that_do_not_make_sense_are_400_by_field(
    client, me, db_session, doctor, body, expected
):
    full = {"date": SATURDAY.isoformat(), "startTime": "09:00 AM", "endTime": "12:00 PM", **body}
    response = client.post(schedule_url(doctor, "extra-hours"), json=full, headers=me)
    assert response.status_code == 400, response.text
    assert fields(response) == expected
    assert schedule_rows(db_session, doctor)["extra-hours"] == 0


# -- hours that hold bookings -----------------------------------------------------------------


def test_time_off_over_a_booking_is_409_naming_it_and_kept_with_conflicts_keep(
    client, auth, me, db_session, doctor
):
    booked = book_monday(client, auth, doctor)
    body = {"startDate": MONDAY.isoformat(), "reason": "Conference"}
    refused = client.post(schedule_url(doctor, "time-off"), json=body, headers=me)
    assert refused.status_code == 409, refused.text
    [detail] = refused.json()["error"]["details"]
    assert detail["field"] == f"appointments/{booked}"
    assert "2027-01-11 10:00 AM (America/New_York)" in detail["message"]
    assert schedule_rows(db_session, doctor)["time-off"] == 0
    assert "10:00 AM" not in slots_on(client, me, doctor, MONDAY)["slots"]  # still booked

    made = client.post(
        schedule_url(doctor, "time-off"), json={**body, "conflicts": "keep"}, headers=me
    )
    assert made.status_code == 201, made.text
    assert made.json()["keptAppointments"] == [
        {"id": booked, "date": "2027-01-11", "time": "10:00 AM", "timeZone": "America/New_York"}
    ]
    assert schedule_rows(db_session, doctor)["time-off"] == 1
    assert stored(db_session, booked).status == "scheduled"
    assert slots_on(client, me, doctor, MONDAY)["slots"] == []


def test_removing_weekly_hours_that_hold_a_booking_is_409_then_kept(
    client, auth, me, db_session, doctor
):
    booked = book_monday(client, auth, doctor, "02:00 PM")
    windows = weekly(client, me, doctor)
    no_afternoons = [w for w in windows if w["startTime"] != "01:00 PM"]
    refused = client.put(
        schedule_url(doctor, "availability"), json=windows_body(no_afternoons), headers=me
    )
    assert refused.status_code == 409, refused.text
    # every afternoon booking is named (the seed's too), each once
    named = fields(refused)
    assert f"appointments/{booked}" in named and len(set(named)) == len(named)
    assert all("PM" in d["message"] for d in refused.json()["error"]["details"])
    assert len(weekly(client, me, doctor)) == len(windows)

    made = client.put(
        schedule_url(doctor, "availability"),
        json=windows_body(no_afternoons, conflicts="keep"),
        headers=me,
    )
    assert made.status_code == 200, made.text
    assert sorted(k["id"] for k in made.json()["keptAppointments"]) == sorted(
        name.removeprefix("appointments/") for name in named
    )
    assert len(made.json()["windows"]) == len(no_afternoons)
    assert stored(db_session, booked).status == "scheduled"
    assert slots_on(client, me, doctor, MONDAY)["slots"][-1] == "11:30 AM"


def test_a_booking_already_outside_the_hours_does_not_block_other_changes(client, auth, me, doctor):
    booked = book_monday(client, auth, doctor, "02:00 PM")
    off = {"startDate": MONDAY.isoformat(), "startTime": "01:00 PM", "conflicts": "keep"}
    assert client.post(schedule_url(doctor, "time-off"), json=off, headers=me).status_code == 201
    # the kept booking is outside the hours already: a later change does not report it again
    later = {"startDate": (MONDAY + timedelta(days=1)).isoformat()}
    made = client.post(schedule_url(doctor, "time-off"), json=later, headers=me)
    assert made.status_code == 201, made.text
    assert made.json()["keptAppointments"] == []
    assert booked


def test_removing_extra_hours_that_hold_a_booking_is_409_then_kept(
    client, auth, me, db_session, doctor
):
    extra = {"date": SATURDAY.isoformat(), "startTime": "09:00 AM", "endTime": "11:00 AM"}
    made = client.post(schedule_url(doctor, "extra-hours"), json=extra, headers=me)
    assert made.status_code == 201, made.text
    hours = made.json()
    assert (hours["timeZone"], hours["startTime"]) == ("America/New_York", "09:00 AM")
    visit = client.post(
        "/api/appointments", json=booking(doctor, SATURDAY, "09:30 AM"), headers=auth(PATIENT)
    )
    assert visit.status_code == 201, visit.text
    url = schedule_url(doctor, "extra-hours", hours["id"])
    refused = client.delete(url, headers=me)
    assert refused.status_code == 409
    assert fields(refused) == [f"appointments/{visit.json()['id']}"]
    assert schedule_rows(db_session, doctor)["extra-hours"] == 1
    kept = client.delete(url, params={"conflicts": "keep"}, headers=me)
    assert kept.status_code == 200, kept.text
    assert [k["id"] for k in kept.json()["keptAppointments"]] == [visit.json()["id"]]
    assert schedule_rows(db_session, doctor)["extra-hours"] == 0
    assert stored(db_session, visit.json()["id"]).status == "scheduled"


# -- at once for slots and booking ------------------------------------------------------------


def test_time_off_blocks_booking_at_once_and_lifting_it_reopens_the_hours(
    client, auth, me, db_session, doctor
):
    off = {"startDate": MONDAY.isoformat(), "startTime": "09:00 AM", "endTime": "12:00 PM"}
    made = client.post(schedule_url(doctor, "time-off"), json=off, headers=me)
    assert made.status_code == 201, made.text
    assert slots_on(client, me, doctor, MONDAY)["slots"][0] == "01:00 PM"
    refused = client.post(
        "/api/appointments", json=booking(doctor, MONDAY, "10:00 AM"), headers=auth(PATIENT)
    )
    assert refused.status_code == 400
    assert (
        db_session.scalar(
            sa.select(sa.func.count()).where(
                Appointment.provider_id == doctor, Appointment.date == MONDAY
            )
        )
        == 0
    )

    url = schedule_url(doctor, "time-off", made.json()["id"])
    assert client.delete(url, headers=me).status_code == 204
    assert slots_on(client, me, doctor, MONDAY)["slots"][0] == "09:00 AM"
    book_monday(client, auth, doctor)


def test_extra_hours_open_slots_and_booking_at_once(client, auth, me, doctor):
    assert slots_on(client, me, doctor, SATURDAY)["slots"] == []
    extra = {"date": SATURDAY.isoformat(), "startTime": "09:00 AM", "endTime": "10:30 AM"}
    assert (
        client.post(schedule_url(doctor, "extra-hours"), json=extra, headers=me).status_code == 201
    )
    listed = client.get(schedule_url(doctor, "extra-hours"), headers=me).json()["data"]
    assert [(h["date"], h["endTime"]) for h in listed] == [("2027-01-16", "10:30 AM")]
    body = slots_on(client, me, doctor, SATURDAY)
    assert (body["slots"], body["timeZone"]) == (
        ["09:00 AM", "09:30 AM", "10:00 AM"], "America/New_York",
    )  # fmt: skip
    response = client.post(
        "/api/appointments", json=booking(doctor, SATURDAY, "10:00 AM"), headers=auth(PATIENT)
    )
    assert response.status_code == 201, response.text


def test_widened_weekly_hours_are_bookable_at_once(client, auth, me, doctor):
    windows = weekly(client, me, doctor)
    for w in windows:
        if w["dayOfWeek"] == "monday" and w["startTime"] == "01:00 PM":
            w["endTime"] = "06:00 PM"
    made = client.put(schedule_url(doctor, "availability"), json=windows_body(windows), headers=me)
    assert made.status_code == 200, made.text
    assert slots_on(client, me, doctor, MONDAY)["slots"][-2:] == ["05:00 PM", "05:30 PM"]
    book_monday(client, auth, doctor, "05:30 PM")


# -- the waitlist hears of hours a change opens -----------------------------------------------


def join(client, auth, doctor, day, time_of_day="morning"):  # type: ignore[no-untyped-def]
    body = {
        "providerId": doctor,
        "startDate": day.isoformat(),
        "endDate": day.isoformat(),
        "timeOfDay": time_of_day,
        "type": "routine_checkup",
        "reason": "Hoping to be seen sooner",
    }
    response = client.post("/api/waitlist", json=body, headers=auth(WAITING))
    assert response.status_code == 201, response.text


def offers(client, auth, who=WAITING):  # type: ignore[no-untyped-def]
    response = client.get("/api/waitlist/offers", headers=auth(who))
    assert response.status_code == 200, response.text
    return [(o["date"], o["time"], o["status"]) for o in response.json()["data"]]


def test_lifting_time_off_offers_the_reopened_hours_to_the_waitlist(
    client, auth, me, db_session, doctor
):
    off = client.post(
        schedule_url(doctor, "time-off"), json={"startDate": MONDAY.isoformat()}, headers=me
    )
    assert off.status_code == 201
    join(client, auth, doctor, MONDAY)
    assert offers(client, auth) == []
    url = schedule_url(doctor, "time-off", off.json()["id"])
    assert client.delete(url, headers=me).status_code == 204
    # one offer per waiting patient: the earliest reopened start that fits their wish
    assert offers(client, auth) == [("2027-01-11", "09:00 AM", "open")]
    db_session.rollback()
    assert db_session.scalar(sa.select(sa.func.count()).select_from(WaitlistOffer)) == 1


def test_extra_hours_and_wider_hours_are_offered_to_the_waitlist(client, auth, me, doctor):
    join(client, auth, doctor, SATURDAY)
    extra = {"date": SATURDAY.isoformat(), "startTime": "10:00 AM", "endTime": "12:00 PM"}
    assert (
        client.post(schedule_url(doctor, "extra-hours"), json=extra, headers=me).status_code == 201
    )
    assert offers(client, auth) == [("2027-01-16", "10:00 AM", "open")]

    join(client, auth, doctor, MONDAY, "afternoon")
    windows = weekly(client, me, doctor)
    for w in windows:
        if w["dayOfWeek"] == "monday" and w["startTime"] == "01:00 PM":
            w["endTime"] = "06:00 PM"
    assert (
        client.put(
            schedule_url(doctor, "availability"), json=windows_body(windows), headers=me
        ).status_code
        == 200
    )
    # the Monday wish is offered the first new start (05:00 PM), not the hours that were open
    assert ("2027-01-11", "05:00 PM", "open") in offers(client, auth)


def test_hours_nobody_waits_for_open_without_offers(client, me, db_session, doctor):
    extra = {"date": SATURDAY.isoformat(), "startTime": "10:00 AM", "endTime": "12:00 PM"}
    assert (
        client.post(schedule_url(doctor, "extra-hours"), json=extra, headers=me).status_code == 201
    )
    db_session.rollback()
    assert db_session.scalar(sa.select(sa.func.count()).select_from(WaitlistOffer)) == 0

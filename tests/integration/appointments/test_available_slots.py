"""GET /api/providers/{providerId}/available-slots on the seeded providers."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
import time_machine

from models import ProviderAvailability, ProviderProfile, User
from tests.support.providers import (
    SEED_MORNING,
    book,
    slots_url,
    user_id,
    validation_fields,
)

NY = ZoneInfo("America/New_York")
# A Monday with no seeded bookings for Dr. Johnson (schedule 0: 09:00-12:00, 13:00-17:00).
MONDAY = date(2027, 1, 11)
FULL_DAY = [
    "09:00 AM", "09:30 AM", "10:00 AM", "10:30 AM", "11:00 AM", "11:30 AM",
    "01:00 PM", "01:30 PM", "02:00 PM", "02:30 PM", "03:00 PM", "03:30 PM", "04:00 PM",
    "04:30 PM",
]  # fmt: skip


@pytest.fixture(autouse=True)
def seed_morning() -> Iterator[None]:
    with time_machine.travel(SEED_MORNING, tick=False):
        yield


@pytest.fixture
def johnson(db_session) -> str:  # type: ignore[no-untyped-def]
    return user_id(db_session, "doctor1@example.com")


def slots(client, headers, provider: str, **params: object):  # type: ignore[no-untyped-def]
    response = client.get(slots_url(provider), params=params, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_free_day_lists_every_half_hour_of_the_windows(client, patient, johnson):
    body = slots(client, patient, johnson, date=MONDAY.isoformat())
    assert body == {
        "date": "2027-01-11",
        "providerId": johnson,
        "slots": FULL_DAY,
        "timeZone": "America/New_York",
    }


@pytest.mark.parametrize(
    ("duration", "expected"),
    [
        (15, FULL_DAY),
        (60, [s for s in FULL_DAY if s not in ("11:30 AM", "04:30 PM")]),
        (180, ["09:00 AM", "01:00 PM", "01:30 PM", "02:00 PM"]),
        (240, ["01:00 PM"]),
    ],
)
def test_the_whole_duration_must_fit_inside_one_window(
    client, patient, johnson, duration, expected
):
    body = slots(client, patient, johnson, date=MONDAY.isoformat(), duration=duration)
    assert body["slots"] == expected


def test_live_bookings_take_every_overlapping_start(client, patient, johnson, db_session):
    book(db_session, johnson, MONDAY, time(10))
    book(db_session, johnson, MONDAY, time(14), duration=60)
    book(db_session, johnson, MONDAY, time(16), status="cancelled")  # frees its time
    thirty = slots(client, patient, johnson, date=MONDAY.isoformat())["slots"]
    assert "10:00 AM" not in thirty and "02:00 PM" not in thirty and "02:30 PM" not in thirty
    assert "04:00 PM" in thirty
    assert len(thirty) == len(FULL_DAY) - 3
    hour = slots(client, patient, johnson, date=MONDAY.isoformat(), duration=60)["slots"]
    assert "09:30 AM" not in hour  # would run into the 10:00 booking
    assert "01:30 PM" not in hour
    assert "09:00 AM" in hour and "10:30 AM" in hour


def test_today_offers_only_starts_still_ahead(client, auth, johnson):
    with time_machine.travel(datetime(2026, 11, 30, 10, 10, tzinfo=NY), tick=False):
        body = slots(client, auth("patient1@example.com"), johnson, date="2026-11-30")
    assert body["slots"][0] == "10:30 AM"
    assert "10:00 AM" not in body["slots"]


@pytest.mark.parametrize(
    "day",
    ["2026-11-24",  # yesterday
     "2027-05-26",  # past the six-month horizon (2027-05-25)
     "2026-11-29"],  # a Sunday, when Dr. Johnson does not work
)  # fmt: skip
def test_past_too_far_or_closed_days_have_no_slots(client, patient, johnson, day):
    assert slots(client, patient, johnson, date=day)["slots"] == []


def test_the_last_day_of_the_horizon_still_has_slots(client, patient, johnson):
    assert slots(client, patient, johnson, date="2027-05-25")["slots"] == FULL_DAY  # a Tuesday


def test_a_provider_without_availability_has_no_slots(client, patient, johnson, db_session):
    profile = db_session.scalar(
        sa.select(ProviderProfile.id).where(ProviderProfile.user_id == johnson)
    )
    db_session.execute(
        sa.update(ProviderAvailability)
        .where(ProviderAvailability.provider_id == profile)
        .values(is_active=False)
    )
    db_session.commit()
    assert slots(client, patient, johnson, date=MONDAY.isoformat())["slots"] == []


def test_only_the_active_windows_of_the_weekday_count(client, patient, johnson, db_session):
    profile = db_session.scalar(
        sa.select(ProviderProfile.id).where(ProviderProfile.user_id == johnson)
    )
    db_session.execute(
        sa.update(ProviderAvailability)
        .where(
            ProviderAvailability.provider_id == profile,
            ProviderAvailability.day_of_week == "monday",
            ProviderAvailability.start_time == time(9, 0),
        )
        .values(is_active=False)
    )
    db_session.commit()
    assert slots(client, patient, johnson, date=MONDAY.isoformat())["slots"] == FULL_DAY[6:]


def test_a_deactivated_doctor_has_no_slots(client, patient, johnson, db_session):
    db_session.execute(sa.update(User).where(User.id == johnson).values(is_active=False))
    db_session.commit()
    response = client.get(slots_url(johnson), params={"date": "2027-01-11"}, headers=patient)
    assert response.status_code == 404


@pytest.mark.parametrize(
    "email", ["doctor1@example.com", "nurse1@example.com", "admin@example.com"]
)
def test_every_role_may_see_slots(client, auth, johnson, email):
    assert slots(client, auth(email), johnson, date=MONDAY.isoformat())["slots"] == FULL_DAY


def test_an_unknown_provider_is_404(client, patient, db_session):
    for provider in (str(uuid.uuid4()), user_id(db_session, "patient3@example.com")):
        response = client.get(slots_url(provider), params={"date": "2027-01-11"}, headers=patient)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "NOT_FOUND"


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "date"),
        ({"date": "2027-1-11"}, "date"),
        ({"date": "tomorrow"}, "date"),
        ({"date": "2027-02-30"}, "date"),
        ({"date": "2027-01-11", "duration": 14}, "duration"),
        ({"date": "2027-01-11", "duration": 241}, "duration"),
        ({"date": "2027-01-11", "duration": "half"}, "duration"),
        ({"date": "2027-01-11", "time": "10:00"}, None),  # unknown query parameter
    ],
)
def test_bad_parameters_are_400(client, patient, johnson, params, field):
    response = client.get(slots_url(johnson), params=params, headers=patient)
    if field is None:
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    else:
        assert field in validation_fields(response)


def test_a_malformed_provider_id_is_400(client, patient):
    response = client.get(slots_url("not-a-uuid"), params={"date": "2027-01-11"}, headers=patient)
    assert "providerId" in validation_fields(response)


def test_slots_need_a_token(client, johnson):
    response = client.get(slots_url(johnson), params={"date": "2027-01-11"})
    assert response.status_code == 401

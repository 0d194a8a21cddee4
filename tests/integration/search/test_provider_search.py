"""POST /api/appointments/search-providers: filters alone and combined, the result shape,
pagination and nextAvailableDate, on the seeded providers (24 generated and the west-coast
demo doctor)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
import time_machine

from models import ProviderAvailability, ProviderExtraHours, ProviderProfile, ProviderTimeOff
from models.appointments.queries import availability
from portal.ops.demo.data import DEFAULT_PROVIDERS
from tests.support.providers import (
    SEARCH,
    SEED_MORNING,
    book,
    last_names,
    search,
    user_id,
)

NY = ZoneInfo("America/New_York")
SATURDAY = date(2026, 11, 28)
# Schedule 2 of the seed (indices 2, 6, 10, 14, 18, 22) is the only one open on Saturdays.
SATURDAY_PROVIDERS = ["Cohen", "Goldberg", "Kim", "Murphy", "Okafor", "Park"]

SEEDED = DEFAULT_PROVIDERS + 1  # and the west-coast demo doctor


@pytest.fixture(autouse=True)
def seed_morning() -> Iterator[None]:
    with time_machine.travel(SEED_MORNING, tick=False):
        yield


def test_no_filter_lists_every_provider_alphabetically_with_the_plans_shape(
    client, patient, db_session
):
    body = search(client, patient, limit=100)
    assert body["total"] == SEEDED
    names = last_names(body)
    assert len(names) == SEEDED
    # by last name; where "Müller" falls is the database collation's business
    assert [n for n in names if n.isascii()] == sorted(n for n in names if n.isascii())
    johnson = next(p for p in body["data"] if p["lastName"] == "Johnson")
    assert johnson["id"] == user_id(db_session, "doctor1@example.com")
    assert johnson["firstName"] == "Sarah"
    assert johnson["specialty"] == "Family Medicine"
    assert johnson["specialties"] == ["Family Medicine", "Preventive Medicine"]
    assert johnson["npi"] == "1234567890"
    assert johnson["yearsOfExperience"] == 15
    assert johnson["languages"][0] == "English"
    assert johnson["certifications"] == ["Board Certified in Family Medicine"]
    assert isinstance(johnson["rating"], float) and isinstance(johnson["reviewCount"], int)
    assert johnson["acceptingNewPatients"] is True
    assert johnson["location"] == {
        "address": "836 Cambridge St, Suite 300",
        "city": "Boston",
        "state": "MA",
        "zipCode": "02114",
        "timeZone": "America/New_York",
    }
    assert johnson["email"] == "doctor1@example.com"
    assert johnson["nextAvailableDate"] == "2026-11-25"
    # the one provider not accepting new patients among the neurologists
    assert [p["acceptingNewPatients"] for p in body["data"] if p["lastName"] == "Andersson"] == [
        False
    ]


def test_an_empty_body_or_no_body_at_all_means_no_filter(client, patient):
    assert search(client, patient)["total"] == SEEDED
    response = client.post(SEARCH, headers=patient)
    assert response.status_code == 200
    assert response.json()["total"] == SEEDED


def test_specialty_filter_takes_the_enum_and_shows_the_human_name(client, patient):
    body = search(client, patient, specialty="family_medicine")
    assert body["total"] == 4
    assert last_names(body) == ["Bennett", "Cohen", "Johnson", "Reyes"]
    assert {p["specialty"] for p in body["data"]} == {"Family Medicine"}
    assert search(client, patient, specialty="obstetrics_gynecology")["data"][0]["specialty"] == (
        "Obstetrics & Gynecology"
    )


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ("Boston", ["Dubois", "Johnson", "Kowalski", "Tanaka"]),  # city
        ("bOsToN", ["Dubois", "Johnson", "Kowalski", "Tanaka"]),  # any case
        ("RI", ["Rossi", "Sullivan"]),  # state code
        ("nh", ["Murphy", "Okafor"]),
        ("02139", ["Cohen", "Kim"]),  # ZIP code
        ("massachusetts ave", ["Cohen", "Kim"]),  # street address
        ("836 Cambridge St", ["Johnson"]),
        # the city Cambridge, and the Cambridge St addresses in Boston
        ("Cambridge", ["Cohen", "Johnson", "Kim", "Tanaka"]),
        ("  Providence  ", ["Rossi", "Sullivan"]),  # surrounding blanks do not count
        ("Springfield", []),
        ("100%", []),  # LIKE wildcards are literal
        ("Suite _00", []),
    ],
)
def test_location_matches_city_state_zip_or_street_address(client, patient, location, expected):
    body = search(client, patient, location=location)
    assert last_names(body) == expected
    assert body["total"] == len(expected)


def test_a_blank_location_is_no_filter(client, patient):
    assert search(client, patient, location="   ")["total"] == SEEDED


@pytest.mark.parametrize(
    ("plan", "total"),
    [("Blue Cross Blue Shield", 11), ("blue cross   BLUE shield", 11), ("MEDICARE", 9),
     ("Blue Cross", 0), ("Acme Health", 0)],
)  # fmt: skip
def test_insurance_filter_matches_the_whole_plan_name_in_any_case(client, patient, plan, total):
    assert search(client, patient, insuranceAccepted=plan, limit=100)["total"] == total


def test_insurance_filter_lists_exactly_the_providers_accepting_the_plan(client, patient):
    body = search(client, patient, insuranceAccepted="Tufts Health Plan", limit=100)
    assert last_names(body) == [
        "Dubois", "Goldberg", "Ibrahim", "Kim", "Novak", "Park", "Rossi", "Sullivan", "Tanaka",
        "Walsh",
    ]  # fmt: skip


def test_date_filter_keeps_providers_with_a_free_slot_that_day(client, patient):
    body = search(client, patient, date="2026-11-28")
    assert last_names(body) == SATURDAY_PROVIDERS
    assert body["total"] == 6


@pytest.mark.parametrize("few", [availability.FEW_PROVIDERS, 0], ids=["named", "whole day"])
def test_date_filter_drops_a_provider_whose_day_is_fully_booked(
    client, patient, db_session, monkeypatch, few
):
    # `few` 0: the day's bookings of every provider are read, as at scale
    monkeypatch.setattr(availability, "FEW_PROVIDERS", few)
    kim = user_id(db_session, "provider15@clinic.example")
    book(db_session, kim, SATURDAY, time(9), duration=240)  # schedule 2: Saturday 09:00-13:00
    body = search(client, patient, date="2026-11-28")
    assert "Kim" not in last_names(body)
    assert body["total"] == 5


def test_cancelled_bookings_do_not_fill_a_day(client, patient, db_session):
    kim = user_id(db_session, "provider15@clinic.example")
    book(db_session, kim, SATURDAY, time(9), duration=240, status="cancelled")
    assert "Kim" in last_names(search(client, patient, date="2026-11-28"))


@pytest.mark.parametrize(
    "day",
    ["2026-11-29",  # a Sunday: nobody works
     "2026-11-24",  # yesterday
     "2027-05-26"],  # one day past the six-month horizon (2027-05-25)
)  # fmt: skip
def test_date_filter_on_a_closed_past_or_too_far_day_finds_nobody(client, patient, day):
    assert search(client, patient, date=day) == {"data": [], "total": 0}


def test_date_filter_today_ignores_starts_already_past(client, auth):
    # Wednesday 16:50 in New York: the New York schedules end at 17:00 or earlier; in San
    # Francisco it is 13:50, and its doctor works until 15:00 there.
    with time_machine.travel(datetime(2026, 11, 25, 16, 50, tzinfo=NY), tick=False):
        headers = auth("patient1@example.com")
        assert last_names(search(client, headers, date="2026-11-25")) == ["Reyes"]
    with time_machine.travel(datetime(2026, 11, 25, 15, 50, tzinfo=NY), tick=False):
        headers = auth("patient1@example.com")
        assert search(client, headers, date="2026-11-25")["total"] > 0


def test_filters_combine_with_and(client, patient):
    body = search(client, patient, specialty="family_medicine", insuranceAccepted="aetna")
    assert last_names(body) == ["Bennett", "Johnson"]
    body = search(
        client, patient, specialty="family_medicine", insuranceAccepted="aetna", location="02445"
    )
    assert last_names(body) == ["Bennett"]
    saturday = search(
        client, patient, date="2026-11-28", location="MA", insuranceAccepted="Medicare"
    )
    assert last_names(saturday) == ["Cohen", "Kim", "Park"]
    assert search(client, patient, specialty="cardiology", location="Boston")["total"] == 0


def test_pages_split_the_result_without_overlap_and_total_counts_all(client, patient):
    first = search(client, patient, limit=10)
    second = search(client, patient, limit=10, page=2)
    third = search(client, patient, limit=10, page=3)
    assert (first["total"], second["total"], third["total"]) == (SEEDED, SEEDED, SEEDED)
    assert (len(first["data"]), len(second["data"]), len(third["data"])) == (10, 10, 5)
    ids = [p["id"] for body in (first, second, third) for p in body["data"]]
    assert len(set(ids)) == SEEDED
    assert search(client, patient, page=4, limit=10) == {"data": [], "total": SEEDED}
    assert len(search(client, patient)["data"]) == 20  # default limit


def test_pages_of_a_date_search_split_the_free_providers(client, patient):
    first = search(client, patient, date="2026-11-28", limit=4)
    second = search(client, patient, date="2026-11-28", limit=4, page=2)
    assert last_names(first) + last_names(second) == SATURDAY_PROVIDERS
    assert first["total"] == second["total"] == 6


def test_next_available_date_skips_closed_and_past_time(client, auth):
    # Wednesday 17:30: today is over for everyone.
    with time_machine.travel(datetime(2026, 11, 25, 17, 30, tzinfo=NY), tick=False):
        body = search(client, auth("patient1@example.com"), limit=100)
    by_name = {p["lastName"]: p["nextAvailableDate"] for p in body["data"]}
    assert by_name["Johnson"] == "2026-11-26"  # schedule 0: every weekday
    assert by_name["Rodriguez"] == "2026-11-26"  # schedule 3: Mon, Tue, Thu
    assert by_name["Kowalski"] == "2026-11-26"  # schedule 1: Tuesday and Thursday afternoons


def test_next_available_date_passes_over_fully_booked_days(client, patient, db_session):
    rodriguez = user_id(db_session, "provider4@clinic.example")  # schedule 3: Mon, Tue, Thu
    thursday = date(2026, 11, 26)
    book(db_session, rodriguez, thursday, time(7, 30), duration=240)
    book(db_session, rodriguez, thursday, time(12, 30), duration=180)
    body = search(client, patient, specialty="internal_medicine")
    by_name = {p["lastName"]: p["nextAvailableDate"] for p in body["data"]}
    assert by_name["Rodriguez"] == "2026-11-30"


def test_next_available_date_follows_time_off_and_extra_hours(client, patient, db_session):
    rodriguez = user_id(db_session, "provider4@clinic.example")  # schedule 3: Mon, Tue, Thu
    profile_id = db_session.scalar(
        sa.select(ProviderProfile.id).where(ProviderProfile.user_id == rodriguez)
    )

    def next_date() -> str:
        body = search(client, patient, specialty="internal_medicine")
        return {p["lastName"]: p["nextAvailableDate"] for p in body["data"]}["Rodriguez"]

    thursday, friday = date(2026, 11, 26), date(2026, 11, 27)
    db_session.add(ProviderTimeOff(provider_id=profile_id, start_date=thursday, end_date=thursday))
    db_session.commit()
    assert next_date() == "2026-11-30"
    db_session.add(
        ProviderExtraHours(
            provider_id=profile_id, date=friday, start_time=time(9), end_time=time(10)
        )
    )
    db_session.commit()
    assert next_date() == "2026-11-27"
    book(db_session, rodriguez, friday, time(9), duration=60)
    assert next_date() == "2026-11-30"


def test_a_provider_without_availability_is_listed_without_a_next_date(client, patient, db_session):
    kim = user_id(db_session, "provider15@clinic.example")
    profile_id = db_session.scalar(
        sa.select(ProviderProfile.id).where(ProviderProfile.user_id == kim)
    )
    db_session.execute(
        sa.delete(ProviderAvailability).where(ProviderAvailability.provider_id == profile_id)
    )
    db_session.commit()
    body = search(client, patient, specialty="cardiology")
    assert [(p["lastName"], p["nextAvailableDate"]) for p in body["data"]] == [("Kim", None)]
    assert "Kim" not in last_names(search(client, patient, date="2026-11-28"))


@pytest.mark.parametrize(
    "email", ["doctor1@example.com", "nurse1@example.com", "admin@example.com"]
)
def test_every_role_may_search(client, auth, email):
    assert search(client, auth(email), specialty="urology")["total"] == 1


def test_search_needs_a_token(client):
    response = client.post(SEARCH, json={})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "AUTHENTICATION_ERROR"


def test_next_available_date_beyond_the_first_two_weeks(client, patient, db_session):
    rodriguez = user_id(db_session, "provider4@clinic.example")  # schedule 3: Mon, Tue, Thu
    working_days = ["2026-11-26", "2026-11-30", "2026-12-01", "2026-12-03", "2026-12-07",
                    "2026-12-08"]  # fmt: skip
    for day in map(date.fromisoformat, working_days):  # 07:30-11:30 and 12:30-15:30, all taken
        book(db_session, rodriguez, day, time(7), duration=270)
        book(db_session, rodriguez, day, time(12), duration=210)
    body = search(client, patient, specialty="internal_medicine")
    by_name = {p["lastName"]: p["nextAvailableDate"] for p in body["data"]}
    assert by_name["Rodriguez"] == "2026-12-10"

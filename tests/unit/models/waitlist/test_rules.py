"""The waitlist's rules: which entries a freed slot matches (provider or specialty, range, time
of day, visit length, "now" and the horizon in the slot's zone), entry and offer states."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from models.waitlist.rules import (
    OpenSlot,
    Wish,
    entry_state,
    matches,
    offer_state,
    offers_to_make,
    refusal_to_accept,
    time_of_day,
    wish_problems,
)

NY = ZoneInfo("America/New_York")
TOKYO = ZoneInfo("Asia/Tokyo")
# Tuesday 1 December 2026, 10:00 in New York.
NOW = datetime(2026, 12, 1, 10, tzinfo=NY)
SLOT = OpenSlot("doc-1", "cardiology", date(2026, 12, 9), time(9), 30)
WISH = Wish("doc-1", None, date(2026, 12, 2), date(2026, 12, 31), "any", "consultation")


def test_a_slot_of_the_provider_inside_the_range_matches():
    assert matches(WISH, SLOT, NOW, NY)


def test_another_providers_slot_does_not_match_a_provider_entry():
    assert not matches(WISH, replace(SLOT, provider_id="doc-2"), NOW, NY)


def test_a_specialty_entry_matches_any_provider_of_it_and_only_it():
    wish = replace(WISH, provider_id=None, specialty="cardiology")
    assert matches(wish, replace(SLOT, provider_id="doc-2"), NOW, NY)
    assert not matches(wish, replace(SLOT, specialty="dermatology"), NOW, NY)


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 12, 1), False),  # the day before the range
        (date(2026, 12, 2), True),  # its first day
        (date(2026, 12, 31), True),  # its last day
        (date(2027, 1, 1), False),  # the day after
    ],
)
def test_the_range_is_inclusive_on_both_ends(day, expected):
    assert matches(WISH, replace(SLOT, day=day), NOW, NY) is expected


@pytest.mark.parametrize(
    ("preference", "start", "expected"),
    [
        ("morning", time(9), True),
        ("morning", time(11, 30), True),
        ("morning", time(12), False),  # noon is afternoon
        ("afternoon", time(12), True),
        ("afternoon", time(11, 30), False),
        ("any", time(7), True),
        ("any", time(16, 30), True),
    ],
)
def test_times_of_day_split_at_noon_on_the_slots_wall_clock(preference, start, expected):
    wish = replace(WISH, time_of_day=preference)
    assert matches(wish, replace(SLOT, start=start), NOW, NY) is expected
    assert time_of_day(time(11, 59)) == "morning" and time_of_day(time(12)) == "afternoon"


def test_the_visit_length_is_left_to_the_days_slot_rules():
    """A 60-minute procedure may follow a freed 30 minutes if the next 30 are free: matching
    does not judge it; the day's bookings do (tests/integration/waitlist)."""
    assert matches(replace(WISH, visit_type="procedure"), SLOT, NOW, NY)


def test_a_slot_already_started_in_its_zone_does_not_match():
    today = replace(SLOT, day=date(2026, 12, 1))
    wish = replace(WISH, first_day=date(2026, 12, 1))
    assert not matches(wish, replace(today, start=time(9, 30)), NOW, NY)  # 9:30 < 10:00 NY
    assert matches(wish, replace(today, start=time(10, 30)), NOW, NY)


def test_now_is_judged_in_the_slots_zone():
    """10:00 in New York is already past midnight in Tokyo: a Tokyo location's slot on
    1 December has started, and its day is judged on the Tokyo calendar."""
    slot = replace(SLOT, day=date(2026, 12, 2), start=time(0))
    wish = replace(WISH, first_day=date(2026, 12, 1))
    assert matches(wish, slot, NOW, NY)  # 2 December 00:00 New York is ahead
    assert not matches(wish, slot, NOW, TOKYO)  # 2 December 00:00 Tokyo is 10:00 NY: now


def test_the_booking_horizon_bounds_what_is_offered():
    far = replace(SLOT, day=date(2027, 6, 2))  # beyond six months from 1 December
    assert not matches(replace(WISH, last_day=date(2027, 6, 30)), far, NOW, NY)


def test_the_morning_of_a_daylight_saving_day_is_the_wall_clock_morning():
    dst = datetime(2027, 3, 14, 1, tzinfo=NY)  # the night clocks go forward
    slot = replace(SLOT, day=date(2027, 3, 14), start=time(11, 30))
    wish = replace(WISH, first_day=date(2027, 3, 14), last_day=date(2027, 3, 14))
    assert matches(replace(wish, time_of_day="morning"), slot, dst, NY)
    assert not matches(replace(wish, time_of_day="afternoon"), slot, dst, NY)


def test_an_entry_expires_after_the_last_day_of_its_range_in_the_zone():
    last = date(2026, 12, 1)
    assert entry_state("active", last, NOW, NY) == "active"
    late_evening = datetime(2026, 12, 1, 23, 30, tzinfo=NY)  # 2 December in UTC
    assert entry_state("active", last, late_evening, NY) == "active"
    assert entry_state("active", last, late_evening, TOKYO) == "expired"
    assert entry_state("fulfilled", last, NOW + timedelta(days=9), NY) == "fulfilled"


def test_a_new_entrys_range_must_be_ahead_ordered_and_within_the_horizon():
    assert wish_problems(WISH, NOW, NY) == []
    backwards = replace(WISH, first_day=date(2026, 12, 5), last_day=date(2026, 12, 4))
    assert [p.field for p in wish_problems(backwards, NOW, NY)] == ["endDate"]
    past = replace(WISH, first_day=date(2026, 11, 30))
    assert [p.field for p in wish_problems(past, NOW, NY)] == ["startDate"]
    beyond = replace(WISH, last_day=date(2027, 6, 2))
    assert "6 months" in wish_problems(beyond, NOW, NY)[0].message
    both = replace(WISH, specialty="cardiology")
    assert [p.field for p in wish_problems(both, NOW, NY)] == ["providerId"]


def test_an_open_offer_is_shown_expired_or_taken_as_soon_as_it_is():
    ends = datetime(2026, 12, 1, 15, 30, tzinfo=UTC)
    before, after = ends - timedelta(seconds=1), ends
    assert offer_state("open", ends, before, slot_free=True) == "open"
    assert offer_state("open", ends, after, slot_free=True) == "expired"
    assert offer_state("open", ends, before, slot_free=False) == "taken"
    assert offer_state("declined", ends, before, slot_free=True) == "declined"


def test_only_an_open_offer_may_be_answered_and_a_refusal_says_why():
    assert refusal_to_accept("open") is None
    assert "taken" in (refusal_to_accept("taken") or "")
    assert "expired" in (refusal_to_accept("expired") or "")
    assert refusal_to_accept("accepted") == "You have already accepted this offer"


def test_a_slot_is_offered_to_up_to_the_fanout_at_once():
    assert offers_to_make(3, 0) == 3
    assert offers_to_make(3, 2) == 1
    assert offers_to_make(3, 3) == 0
    assert offers_to_make(3, 5) == 0

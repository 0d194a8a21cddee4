"""Slot computation, time formats and the booking windows, with no database."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from models.appointments.rules.slots import (
    Booking,
    Window,
    add_months,
    booking_horizon,
    first_free_day,
    format_time_of_day,
    free_slots,
    overlaps,
    parse_time_of_day,
    starts_at,
)
from models.appointments.rules.visits import enough_notice_to_change

NY = ZoneInfo("America/New_York")
MONDAY = date(2026, 12, 7)
BEFORE_MONDAY = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
MORNING = [Window(time(9), time(12))]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10:00 AM", time(10)),
        ("02:30 PM", time(14, 30)),
        ("12:00 PM", time(12)),
        ("12:30 AM", time(0, 30)),
        ("11:59 PM", time(23, 59)),
    ],
)
def test_time_of_day_round_trips(text: str, expected: time) -> None:
    assert parse_time_of_day(text) == expected
    assert format_time_of_day(expected) == text


def test_slots_fill_the_window_on_the_half_hour_grid() -> None:
    slots = free_slots(MORNING, [], MONDAY, 30, BEFORE_MONDAY, NY)
    assert slots == [time(9), time(9, 30), time(10), time(10, 30), time(11), time(11, 30)]


def test_a_longer_visit_must_fit_inside_one_window() -> None:
    windows = [Window(time(9), time(10)), Window(time(10), time(11))]
    assert free_slots(windows, [], MONDAY, 60, BEFORE_MONDAY, NY) == [time(9), time(10)]
    assert free_slots(windows, [], MONDAY, 90, BEFORE_MONDAY, NY) == []


def test_window_not_on_the_grid_starts_at_the_next_grid_point() -> None:
    slots = free_slots([Window(time(9, 15), time(10, 30))], [], MONDAY, 30, BEFORE_MONDAY, NY)
    assert slots == [time(9, 30), time(10)]


def test_bookings_remove_every_overlapping_start() -> None:
    bookings = [Booking(time(10), 60)]
    slots = free_slots(MORNING, bookings, MONDAY, 30, BEFORE_MONDAY, NY)
    assert slots == [time(9), time(9, 30), time(11), time(11, 30)]
    # a 60-minute visit at 09:30 would run into the 10:00 booking
    assert time(9, 30) not in free_slots(MORNING, bookings, MONDAY, 60, BEFORE_MONDAY, NY)


def test_overlap_is_half_open() -> None:
    assert not overlaps(time(9), 30, time(9, 30), 30)
    assert overlaps(time(9), 31, time(9, 30), 30)
    assert overlaps(time(9, 45), 15, time(9, 30), 30)


def test_past_times_today_are_not_offered() -> None:
    now = datetime(2026, 12, 7, 10, 10, tzinfo=NY)
    assert free_slots(MORNING, [], MONDAY, 30, now, NY) == [time(10, 30), time(11), time(11, 30)]


def test_past_days_and_days_beyond_six_months_have_no_slots() -> None:
    now = datetime(2026, 12, 8, 8, 0, tzinfo=NY)
    assert free_slots(MORNING, [], MONDAY, 30, now, NY) == []
    far = add_months(date(2026, 12, 8), 6)
    assert free_slots(MORNING, [], far, 30, now, NY) != []
    assert free_slots(MORNING, [], date(2027, 6, 9), 30, now, NY) == []


def test_no_availability_means_no_slots_and_no_next_day() -> None:
    assert free_slots([], [], MONDAY, 30, BEFORE_MONDAY, NY) == []
    assert first_free_day({}, {}, 30, BEFORE_MONDAY, NY) is None


def test_add_months_clamps_to_month_end() -> None:
    assert add_months(date(2026, 8, 31), 6) == date(2027, 2, 28)
    assert add_months(date(2026, 1, 15), 6) == date(2026, 7, 15)
    assert booking_horizon(date(2026, 11, 25)) == date(2027, 5, 25)


def test_clinic_time_zone_decides_what_today_is() -> None:
    # 03:00 UTC on Dec 8 is still Dec 7 (22:00) in New York: Monday's late slots remain.
    now = datetime(2026, 12, 8, 3, 0, tzinfo=UTC)
    evening = [Window(time(21), time(23))]
    assert free_slots(evening, [], MONDAY, 30, now, NY) == [time(22, 30)]


def test_dst_spring_forward_day_uses_the_right_offset() -> None:
    # 2027-03-14: New York jumps from 02:00 EST to 03:00 EDT.
    day = date(2027, 3, 14)
    now = datetime(2027, 3, 14, 13, 45, tzinfo=UTC)  # 09:45 EDT (it would be 08:45 in EST)
    slots = free_slots([Window(time(8), time(11))], [], day, 30, now, NY)
    assert slots == [time(10), time(10, 30)]


def test_dst_fall_back_day_counts_real_hours_for_notice() -> None:
    # 2026-11-01: 02:00 EDT becomes 01:00 EST; 00:30 -> 02:00 local is 2.5 real hours.
    now = datetime(2026, 11, 1, 0, 30, tzinfo=NY)
    start = starts_at(date(2026, 11, 1), time(2, 0), NY)
    assert enough_notice_to_change(start, now)
    assert not enough_notice_to_change(starts_at(date(2026, 11, 1), time(1, 30), NY), now)


def test_two_hour_notice_boundary() -> None:
    start = starts_at(MONDAY, time(10), NY)
    assert enough_notice_to_change(start, datetime(2026, 12, 7, 8, 0, tzinfo=NY))
    assert not enough_notice_to_change(start, datetime(2026, 12, 7, 8, 1, tzinfo=NY))


def test_first_free_day_skips_full_and_closed_days() -> None:
    weekly = {"monday": MORNING, "wednesday": MORNING}
    full_monday = [Booking(time(9), 180)]
    found = first_free_day(weekly, {MONDAY: full_monday}, 30, BEFORE_MONDAY, NY)
    assert found == date(2026, 12, 2)  # Wednesday before that Monday
    late = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)  # Thursday
    assert first_free_day(weekly, {MONDAY: full_monday}, 30, late, NY) == date(2026, 12, 9)

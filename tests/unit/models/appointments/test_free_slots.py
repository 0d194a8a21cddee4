"""The slot rule behind `available-slots`, search's `date` filter and `nextAvailableDate`."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from models.appointments.rules.slots import (
    Booking,
    Window,
    first_free_day,
    free_slots,
    has_free_slot,
    providers_free_on,
)

NY = ZoneInfo("America/New_York")
MONDAY = date(2026, 12, 7)
EARLIER = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
CLINIC_DAY = [Window(time(9), time(12)), Window(time(13), time(17))]


def _grid(first: time, last: time) -> list[time]:
    """Every half hour from `first` to `last`, both included."""
    out, at = [], datetime.combine(MONDAY, first)
    while at.time() <= last:
        out.append(at.time())
        at += timedelta(minutes=30)
    return out


@pytest.mark.parametrize(
    ("duration", "expected"),
    [
        (15, _grid(time(9), time(11, 30)) + _grid(time(13), time(16, 30))),
        (30, _grid(time(9), time(11, 30)) + _grid(time(13), time(16, 30))),
        (45, _grid(time(9), time(11)) + _grid(time(13), time(16))),
        (60, _grid(time(9), time(11)) + _grid(time(13), time(16))),
        (180, [time(9), time(13), time(13, 30), time(14)]),
        (240, [time(13)]),
    ],
)
def test_each_duration_must_fit_wholly_inside_one_window(
    duration: int, expected: list[time]
) -> None:
    assert free_slots(CLINIC_DAY, [], MONDAY, duration, EARLIER, NY) == expected


def test_windows_given_out_of_order_or_overlapping_give_each_start_once_in_order() -> None:
    windows = [Window(time(13), time(14)), Window(time(9), time(10)), Window(time(9, 30), time(11))]
    slots = free_slots(windows, [], MONDAY, 30, EARLIER, NY)
    assert slots == [time(9), time(9, 30), time(10), time(10, 30), time(13), time(13, 30)]


def test_a_booking_off_the_grid_or_longer_than_a_slot_blocks_every_overlapping_start() -> None:
    bookings = [Booking(time(9, 45), 45), Booking(time(14), 90)]
    slots = free_slots(CLINIC_DAY, bookings, MONDAY, 30, EARLIER, NY)
    assert slots == [time(9), time(10, 30), time(11), time(11, 30), time(13), time(13, 30),
                     time(15, 30), time(16), time(16, 30)]  # fmt: skip


def test_a_booking_ending_exactly_at_a_start_leaves_it_free() -> None:
    slots = free_slots([Window(time(9), time(10))], [Booking(time(9), 30)], MONDAY, 30, EARLIER, NY)
    assert slots == [time(9, 30)]


def test_a_fully_booked_day_has_no_slot() -> None:
    bookings = [Booking(time(9), 180), Booking(time(13), 240)]
    assert free_slots(CLINIC_DAY, bookings, MONDAY, 30, EARLIER, NY) == []
    assert not has_free_slot(CLINIC_DAY, bookings, MONDAY, 30, EARLIER, NY)


def test_a_start_exactly_now_is_already_past() -> None:
    now = datetime(2026, 12, 7, 9, 30, tzinfo=NY)
    assert free_slots([Window(time(9), time(11))], [], MONDAY, 30, now, NY) == [
        time(10), time(10, 30)
    ]  # fmt: skip


def test_today_after_closing_has_nothing_left() -> None:
    now = datetime(2026, 12, 7, 17, 0, tzinfo=NY)
    assert free_slots(CLINIC_DAY, [], MONDAY, 30, now, NY) == []


def test_dst_fall_back_day_offers_the_same_wall_clock_grid() -> None:
    # 2026-11-01: clocks go from 02:00 EDT back to 01:00 EST; the grid stays in wall time.
    day = date(2026, 11, 1)
    now = datetime(2026, 11, 1, 5, 45, tzinfo=UTC)  # 01:45 EDT, the first of the two 01:45s
    slots = free_slots([Window(time(0), time(4))], [], day, 30, now, NY)
    assert slots == [time(2), time(2, 30), time(3), time(3, 30)]


def test_dst_spring_forward_day_judges_past_starts_by_real_time() -> None:
    # 2027-03-14, 07:10 UTC is 03:10 EDT: the 03:00 start has passed, 03:30 has not.
    day = date(2027, 3, 14)
    now = datetime(2027, 3, 14, 7, 10, tzinfo=UTC)
    assert free_slots([Window(time(3), time(5))], [], day, 30, now, NY) == [
        time(3, 30), time(4), time(4, 30)
    ]  # fmt: skip


def test_no_availability_has_no_slots_on_any_day() -> None:
    assert free_slots([], [Booking(time(9), 30)], MONDAY, 30, EARLIER, NY) == []
    assert not has_free_slot([], [], MONDAY, 30, EARLIER, NY)
    assert first_free_day({"monday": []}, {}, 30, EARLIER, NY) is None


@pytest.mark.parametrize(
    "windows",
    [[], [Window(time(9), time(9, 20))], CLINIC_DAY, [Window(time(21), time(23))]],
)
@pytest.mark.parametrize("now", [EARLIER, datetime(2026, 12, 7, 10, 5, tzinfo=NY)])
def test_has_free_slot_agrees_with_free_slots(windows: list[Window], now: datetime) -> None:
    bookings = [Booking(time(10, 30), 60)]
    expected = free_slots(windows, bookings, MONDAY, 30, now, NY) != []
    assert has_free_slot(windows, bookings, MONDAY, 30, now, NY) is expected


def test_first_free_day_is_today_while_a_start_remains_then_the_next_open_day() -> None:
    weekly = {"monday": CLINIC_DAY, "tuesday": CLINIC_DAY}
    morning = datetime(2026, 12, 7, 8, 0, tzinfo=NY)
    assert first_free_day(weekly, {}, 30, morning, NY) == MONDAY
    evening = datetime(2026, 12, 7, 16, 45, tzinfo=NY)
    assert first_free_day(weekly, {}, 30, evening, NY) == date(2026, 12, 8)


def test_first_free_day_is_none_when_every_day_up_to_the_horizon_is_booked() -> None:
    weekly = {"monday": [Window(time(9), time(10))]}
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    full = {
        now.date() + timedelta(days=n): [Booking(time(9), 60)] for n in range(0, 200)
    }  # fmt: skip
    assert first_free_day(weekly, full, 30, now, NY) is None
    del full[date(2027, 5, 31)]  # a Monday on the six-month horizon (June 1 is beyond it)
    assert first_free_day(weekly, full, 30, now, NY) == date(2027, 5, 31)


@pytest.mark.parametrize(
    "now",
    [EARLIER, datetime(2026, 12, 7, 10, 5, tzinfo=NY), datetime(2026, 12, 7, 17, 0, tzinfo=NY)],
)
@pytest.mark.parametrize("day", [MONDAY, date(2026, 11, 30), date(2027, 7, 5)])
def test_providers_free_on_is_has_free_slot_of_each(now: datetime, day: date) -> None:
    windows = {
        "open": CLINIC_DAY,
        "same windows, booked solid": CLINIC_DAY,
        "same windows, one booking": CLINIC_DAY,
        "evening": [Window(time(21), time(23))],
        "too short": [Window(time(9), time(9, 20))],
        "none": [],
    }
    bookings = {
        "same windows, booked solid": [Booking(time(9), 180), Booking(time(13), 240)],
        "same windows, one booking": [Booking(time(10, 30), 60)],
    }
    expected = {
        provider
        for provider, own in windows.items()
        if has_free_slot(own, bookings.get(provider, []), day, 30, now, NY)
    }
    assert providers_free_on(windows, bookings, day, 30, now, NY) == expected


def test_first_free_day_looks_only_between_first_and_last() -> None:
    weekly = {"monday": CLINIC_DAY, "wednesday": CLINIC_DAY}
    assert first_free_day(weekly, {}, 30, EARLIER, NY, last=date(2026, 12, 1)) is None
    assert first_free_day(weekly, {}, 30, EARLIER, NY, last=date(2026, 12, 2)) == date(2026, 12, 2)
    assert first_free_day(weekly, {}, 30, EARLIER, NY, first=date(2026, 12, 3)) == MONDAY
    # `first` before today starts today; `last` beyond the horizon stops at the horizon
    assert first_free_day(weekly, {}, 30, EARLIER, NY, first=date(2026, 1, 1)) == date(2026, 12, 2)
    assert first_free_day(weekly, {}, 30, EARLIER, NY, first=date(2027, 6, 2)) is None

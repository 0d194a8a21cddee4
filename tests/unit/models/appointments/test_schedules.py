"""The schedule rules: weekly windows inside a day, on the grid, without overlaps, one zone a
day; time off ranges; the windows a date ends up with; which window holds a booking."""

from __future__ import annotations

from datetime import date, time

import pytest

from models.appointments.rules.schedules import (
    DayChanges,
    TimeOff,
    WeeklyWindow,
    blocked_minutes,
    holds,
    time_off_problems,
    weekly_problems,
    window_problems,
    windows_on,
)
from models.appointments.rules.slots import Booking, Window

ZONES = {"ny": "America/New_York", "ny2": "America/New_York", "la": "America/Los_Angeles"}
TODAY = date(2026, 11, 25)


def _fields(problems) -> list[str]:  # type: ignore[no-untyped-def]
    return [p.field for p in problems]


def test_a_window_on_the_grid_inside_one_day_passes() -> None:
    assert window_problems("w", time(9), time(17, 30)) == []
    assert window_problems("w", time(0), time(23, 30)) == []


@pytest.mark.parametrize(
    ("start", "end"),
    [(time(9, 15), time(12)), (time(9), time(12, 10)), (time(9, 0, 30), time(12))],
)
def test_a_window_off_the_grid_is_refused(start: time, end: time) -> None:
    [problem] = window_problems("windows[0]", start, end)
    assert problem.field == "windows[0]" and "grid" in problem.message


@pytest.mark.parametrize(("start", "end"), [(time(12), time(9)), (time(9), time(9))])
def test_a_window_that_does_not_run_forward_inside_a_day_is_refused(start: time, end: time) -> None:
    [problem] = window_problems("windows[0]", start, end)
    assert "before it ends" in problem.message


def test_weekly_windows_name_the_window_at_fault() -> None:
    windows = [
        WeeklyWindow("monday", time(9), time(12), "ny"),
        WeeklyWindow("monday", time(11), time(13), "ny"),  # overlaps the first
        WeeklyWindow("monday", time(12), time(14), "ny"),  # overlaps the second only
        WeeklyWindow("tuesday", time(9), time(12), "nowhere"),
    ]
    assert _fields(weekly_problems(windows, ZONES)) == [
        "windows[3].locationId", "windows[1]", "windows[2]",
    ]  # fmt: skip


def test_touching_windows_other_weekdays_and_inactive_windows_do_not_overlap() -> None:
    windows = [
        WeeklyWindow("monday", time(9), time(12), "ny"),
        WeeklyWindow("monday", time(12), time(14), "ny2"),
        WeeklyWindow("tuesday", time(9), time(12), "ny"),
        WeeklyWindow("monday", time(10), time(11), "ny", is_active=False),
    ]
    assert weekly_problems(windows, ZONES) == []


def test_windows_at_two_locations_overlapping_in_time_are_refused() -> None:
    windows = [
        WeeklyWindow("friday", time(9), time(12), "ny"),
        WeeklyWindow("friday", time(11), time(12), "ny2"),
    ]
    assert _fields(weekly_problems(windows, ZONES)) == ["windows[1]"]


def test_one_weekday_is_worked_in_one_zone() -> None:
    windows = [
        WeeklyWindow("monday", time(8), time(10), "ny"),
        WeeklyWindow("monday", time(14), time(16), "la"),
        WeeklyWindow("tuesday", time(14), time(16), "la"),
    ]
    [problem] = weekly_problems(windows, ZONES)
    assert problem.field == "windows" and "monday" in problem.message


def test_time_off_of_whole_days_or_part_of_one_passes() -> None:
    assert time_off_problems(TimeOff(TODAY, date(2026, 12, 4)), TODAY) == []
    assert time_off_problems(TimeOff(TODAY, TODAY, time(13), time(17)), TODAY) == []
    assert time_off_problems(TimeOff(TODAY, TODAY, start_time=time(13)), TODAY) == []


@pytest.mark.parametrize(
    ("off", "fields"),
    [
        (TimeOff(date(2026, 12, 4), date(2026, 12, 1)), ["endDate"]),
        (TimeOff(TODAY, TODAY, time(13), time(12)), ["endTime"]),
        (TimeOff(TODAY, TODAY, time(13), time(13)), ["endTime"]),
        (TimeOff(TODAY, TODAY, time(13, 10), None), ["startTime"]),
        (TimeOff(date(2026, 11, 1), date(2026, 11, 24)), ["endDate"]),
        (TimeOff(TODAY, date(2028, 1, 1)), ["endDate"]),
    ],
    ids=["backwards", "times backwards", "empty", "off grid", "past", "too far"],
)
def test_time_off_that_is_refused_names_its_field(off: TimeOff, fields: list[str]) -> None:
    assert _fields(time_off_problems(off, TODAY)) == fields


def test_time_off_over_several_days_blocks_from_its_start_time_to_its_end_time() -> None:
    off = TimeOff(date(2026, 12, 1), date(2026, 12, 3), time(13), time(10))
    assert blocked_minutes(off, date(2026, 11, 30)) is None
    assert blocked_minutes(off, date(2026, 12, 1)) == (13 * 60, 24 * 60)
    assert blocked_minutes(off, date(2026, 12, 2)) == (0, 24 * 60)
    assert blocked_minutes(off, date(2026, 12, 3)) == (0, 10 * 60)


def test_a_date_is_its_weekly_windows_plus_extra_hours_minus_time_off() -> None:
    weekly = [Window(time(9), time(12), "ny"), Window(time(13), time(17), "ny")]
    changes = DayChanges(
        extra=(Window(time(12), time(13), "ny"), Window(time(17), time(19), "ny")),
        off=(TimeOff(TODAY, TODAY, time(10), time(11)),),
    )
    assert windows_on(TODAY, weekly, changes) == [
        Window(time(9), time(10), "ny"), Window(time(11), time(19), "ny"),
    ]  # fmt: skip
    assert windows_on(TODAY, weekly, None) == weekly
    whole_day = DayChanges(off=(TimeOff(TODAY, TODAY),))
    assert windows_on(TODAY, weekly, whole_day) == []


def test_holds_names_the_window_a_whole_booking_lies_in() -> None:
    windows = [Window(time(9), time(10), "ny"), Window(time(11), time(12), "ny")]
    assert holds(windows, Booking(time(9, 30), 30)) == windows[0]
    assert holds(windows, Booking(time(9, 30), 60)) is None
    assert holds(windows, Booking(time(10), 30)) is None

"""A provider's schedule as plain values: the rules its weekly windows, time off and extra hours
obey, the windows a given date ends up with, and which bookings a change leaves outside them.

A date's windows are its weekday's active windows plus that date's extra hours, minus the time
off covering it; every time is wall time of the window's location. One day is worked in one
zone (a provider is not in two zones on one date), so "today", "past" and the slot grid of a
date have one meaning.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, time

from kernel.errors import FieldError
from models.appointments.rules.slots import SLOT_GRID_MINUTES, WEEKDAY_NAMES, Booking, Window

DAY_MINUTES = 24 * 60
# How far ahead time off and extra hours may be entered (the booking horizon is six months).
MAX_TIME_OFF_DAYS = 400


@dataclass(frozen=True)
class WeeklyWindow:
    """One weekly window as the caller states it."""

    weekday: str
    start: time
    end: time
    location_id: str
    is_active: bool = True


@dataclass(frozen=True)
class TimeOff:
    """From `start_time` (None: the start of the day) on `first` to `end_time` (None: the end of
    the day) on `last`."""

    first: date
    last: date
    start_time: time | None = None
    end_time: time | None = None


@dataclass(frozen=True)
class DayChanges:
    """What one date adds to and takes from its weekday's windows."""

    extra: tuple[Window, ...] = ()
    off: tuple[TimeOff, ...] = ()


def _minutes(t: time) -> int:
    return t.hour * 60 + t.minute


def _time(minutes: int) -> time:
    return time(minutes // 60, minutes % 60)


def on_grid(t: time) -> bool:
    return t.second == 0 and t.microsecond == 0 and _minutes(t) % SLOT_GRID_MINUTES == 0


def window_problems(field: str, start: time, end: time) -> list[FieldError]:
    """A window lies inside one day (start before end) with both ends on the slot grid."""
    problems = []
    if not (on_grid(start) and on_grid(end)):
        problems.append(
            FieldError(field, f"times must be on the {SLOT_GRID_MINUTES}-minute grid (:00 or :30)")
        )
    if start >= end:
        problems.append(FieldError(field, "must start before it ends, inside one day"))
    return problems


def weekly_problems(
    windows: Sequence[WeeklyWindow], zone_of_location: Mapping[str, str]
) -> list[FieldError]:
    """Why this set of weekly windows is refused, window by window (`windows[i]`): off the grid,
    not inside a day, at a location not the provider's, overlapping another active window of
    the same weekday (at any location), or making one weekday span two time zones."""
    problems: list[FieldError] = []
    for i, window in enumerate(windows):
        field = f"windows[{i}]"
        problems += window_problems(field, window.start, window.end)
        if window.location_id not in zone_of_location:
            problems.append(FieldError(f"{field}.locationId", "is not one of the provider's"))
    active = [(i, w) for i, w in enumerate(windows) if w.is_active]
    for i, window in active:
        for j, other in active:
            if j <= i or other.weekday != window.weekday:
                continue
            if window.start < other.end and other.start < window.end:
                problems.append(FieldError(f"windows[{j}]", f"overlaps windows[{i}]"))
    for weekday in WEEKDAY_NAMES:
        zones = {
            zone_of_location[w.location_id]
            for _, w in active
            if w.weekday == weekday and w.location_id in zone_of_location
        }
        if len(zones) > 1:
            problems.append(
                FieldError("windows", f"{weekday} spans time zones {sorted(zones)}; one per day")
            )
    return problems


def time_off_problems(off: TimeOff, today: date) -> list[FieldError]:
    """Time off runs forward, ends on the grid, and does not end in the past or too far ahead."""
    problems = []
    for name, value in (("startTime", off.start_time), ("endTime", off.end_time)):
        if value is not None and not on_grid(value):
            problems.append(FieldError(name, f"must be on the {SLOT_GRID_MINUTES}-minute grid"))
    if off.last < off.first:
        problems.append(FieldError("endDate", "must not be before startDate"))
    elif (
        off.first == off.last
        and off.start_time is not None
        and off.end_time is not None
        and off.start_time >= off.end_time
    ):
        problems.append(FieldError("endTime", "must be after startTime"))
    if off.last < today:
        problems.append(FieldError("endDate", "must not be in the past"))
    if (off.last - today).days > MAX_TIME_OFF_DAYS:
        problems.append(FieldError("endDate", f"must be within {MAX_TIME_OFF_DAYS} days"))
    return problems


def blocked_minutes(off: TimeOff, day: date) -> tuple[int, int] | None:
    """The stretch [from, to) of `day` (minutes after midnight) this time off covers, if any."""
    if not off.first <= day <= off.last:
        return None
    begin = _minutes(off.start_time) if off.start_time is not None and day == off.first else 0
    end = _minutes(off.end_time) if off.end_time is not None and day == off.last else DAY_MINUTES
    return (begin, end) if begin < end else None


def _subtract(window: Window, blocks: Iterable[tuple[int, int]]) -> list[Window]:
    pieces = [(_minutes(window.start), _minutes(window.end))]
    for b_start, b_end in blocks:
        left = []
        for start, end in pieces:
            if b_end <= start or end <= b_start:
                left.append((start, end))
                continue
            if start < b_start:
                left.append((start, b_start))
            if b_end < end:
                left.append((b_end, end))
        pieces = left
    return [
        Window(_time(start), _time(end), window.location_id, window.zone)
        for start, end in pieces
        if start < end
    ]


def _merged(windows: Iterable[Window]) -> list[Window]:
    """Windows of one location that touch or overlap become one (a visit may span them)."""
    merged: list[Window] = []
    for window in sorted(windows, key=lambda w: (w.location_id, w.start)):
        last = merged[-1] if merged else None
        if last and last.location_id == window.location_id and window.start <= last.end:
            merged[-1] = Window(last.start, max(last.end, window.end), last.location_id, last.zone)
        else:
            merged.append(window)
    return sorted(merged)


def windows_on(day: date, weekly: Sequence[Window], changes: DayChanges | None) -> list[Window]:
    """The windows of `day`: its weekday's `weekly` windows and extra hours, minus time off."""
    if changes is None:
        return list(weekly)
    blocks = [b for off in changes.off if (b := blocked_minutes(off, day)) is not None]
    windows = _merged([*weekly, *changes.extra])
    return sorted(piece for window in windows for piece in _subtract(window, blocks))


def holds(windows: Sequence[Window], booking: Booking) -> Window | None:
    """The window the whole booking lies inside, or None."""
    begin = _minutes(booking.start)
    for window in windows:
        if _minutes(window.start) <= begin and begin + booking.duration_minutes <= _minutes(
            window.end
        ):
            return window
    return None

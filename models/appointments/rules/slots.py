"""The slot rules as plain functions over plain values (no database, no HTTP).

Every question "is this time bookable?" is answered by `free_slots`: the slots endpoint lists
its result, and booking and rescheduling accept a time only if it is in that list. Days and
times of day are wall-clock values of the day's location (each window names its zone; a window
without one is in the clinic's zone, the `zone` argument); "now" is an aware datetime, so
comparisons hold across daylight-saving changes.
"""

from __future__ import annotations

import calendar
import functools
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

SLOT_GRID_MINUTES = 30
# Visit length assumed by search's `date` filter and `nextAvailableDate` (the default visit).
DEFAULT_DURATION_MINUTES = 30
BOOKING_HORIZON_MONTHS = 6
WEEKDAY_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


@dataclass(frozen=True, order=True)
class Window:
    """A stretch of working time on one day, [start, end), at a location (its id, "" for none)
    whose IANA zone is `zone` ("" for the clinic's)."""

    start: time
    end: time
    location_id: str = ""
    zone: str = ""


def zone_of_day(windows: Sequence[Window], clinic_zone: ZoneInfo) -> ZoneInfo:
    """The zone a day's wall times are in: its windows' (one per day, `rules.schedules`), or the
    clinic's when they name none."""
    for window in windows:
        if window.zone:
            return ZoneInfo(window.zone)
    return clinic_zone


@dataclass(frozen=True)
class Booking:
    """An existing (non-cancelled) appointment on the day in question."""

    start: time
    duration_minutes: int


def _minutes(t: time) -> int:
    return t.hour * 60 + t.minute


def _time(minutes: int) -> time:
    return time(minutes // 60, minutes % 60)


def parse_time_of_day(text: str) -> time:
    """'02:30 PM' -> 14:30. The spec's pattern has already checked the shape."""
    return datetime.strptime(text.strip().upper(), "%I:%M %p").time()


# Kept per value: the times a list and a day's slots show are few and repeat (the slot grid),
# and a lookup costs a fraction of strftime.
@functools.lru_cache(maxsize=4096)
def format_time_of_day(value: time) -> str:
    """14:30 -> '02:30 PM' (zero-padded, as the API writes times)."""
    return value.strftime("%I:%M %p")


def add_months(day: date, months: int) -> date:
    """Same day-of-month `months` later, clamped to the month's last day (Aug 31 -> Feb 28)."""
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def clinic_today(now: datetime, zone: ZoneInfo) -> date:
    return now.astimezone(zone).date()


@functools.lru_cache(maxsize=64)
def booking_horizon(today: date) -> date:
    """The last day that may be booked: six months ahead."""
    return add_months(today, BOOKING_HORIZON_MONTHS)


def within_booking_horizon(day: date, today: date) -> bool:
    return today <= day <= booking_horizon(today)


def starts_at(day: date, start: time, zone: ZoneInfo) -> datetime:
    """The instant (in UTC) of a clinic wall-clock start.

    UTC, because Python compares and subtracts two datetimes sharing one tzinfo as wall-clock
    values, which is wrong across a daylight-saving change.
    """
    return datetime.combine(day, start, tzinfo=zone).astimezone(UTC)


def overlaps(start_a: time, minutes_a: int, start_b: time, minutes_b: int) -> bool:
    """Do [a, a+minutes_a) and [b, b+minutes_b) share any minute?"""
    return _overlaps(_minutes(start_a), minutes_a, _minutes(start_b), minutes_b)


def _overlaps(a: int, minutes_a: int, b: int, minutes_b: int) -> bool:
    return a < b + minutes_b and b < a + minutes_a


@functools.lru_cache(maxsize=256)
def _past_grid_minutes(day: date, now_utc: datetime, zone: ZoneInfo) -> frozenset[int]:
    """The grid starts of `day` (minutes after midnight) that are not after `now_utc`.

    Cached because one search asks it of every candidate provider with the same `now`."""
    return frozenset(
        m for m in range(0, 24 * 60, SLOT_GRID_MINUTES) if starts_at(day, _time(m), zone) <= now_utc
    )


@functools.lru_cache(maxsize=256)
def _missing_grid_minutes(day: date, zone: ZoneInfo) -> frozenset[int]:
    """The grid starts of `day` that its zone skips (02:00 and 02:30 on a spring-forward day in
    the US zones): such a wall time names no instant, and Python would read it as the hour
    after, the same instant as a real later start."""
    return frozenset(
        m
        for m in range(0, 24 * 60, SLOT_GRID_MINUTES)
        if starts_at(day, _time(m), zone).astimezone(zone).time() != _time(m)
    )


def _bookable_day(day: date, now: datetime, zone: ZoneInfo) -> frozenset[int] | None:
    """None when `day` cannot be booked at all (before today or beyond the horizon); else the
    grid starts of `day` that cannot be offered: the ones its zone skips, and those already
    past (only today can hold any: a later clinic date is later in real time too).

    A repeated hour (the autumn change) is offered once, at its first occurrence: the grid is
    wall time and `starts_at` reads an ambiguous wall time as the earlier instant."""
    today = clinic_today(now, zone)
    if not within_booking_horizon(day, today):
        return None
    missing = _missing_grid_minutes(day, zone)
    if day != today:
        return missing
    return missing | _past_grid_minutes(day, now.astimezone(UTC), zone)


def _starts(
    windows: Iterable[Window],
    taken: Sequence[tuple[int, int]],
    duration_minutes: int,
    past: frozenset[int],
) -> Iterator[int]:
    """Each start (minutes after midnight) passing the rule on a bookable day, window by
    window (overlapping windows may repeat one); `taken` holds (start, minutes) of bookings."""
    for window in windows:
        first = -(-_minutes(window.start) // SLOT_GRID_MINUTES) * SLOT_GRID_MINUTES
        for begin in range(first, _minutes(window.end) - duration_minutes + 1, SLOT_GRID_MINUTES):
            if begin in past or any(
                _overlaps(begin, duration_minutes, b, length) for b, length in taken
            ):
                continue
            yield begin


def _any_start(
    windows: Iterable[Window],
    taken: Sequence[tuple[int, int]],
    duration_minutes: int,
    past: frozenset[int],
) -> bool:
    return next(_starts(windows, taken, duration_minutes, past), None) is not None


def _taken(bookings: Iterable[Booking]) -> list[tuple[int, int]]:
    return [(_minutes(b.start), b.duration_minutes) for b in bookings]


def _open_starts(
    windows: Iterable[Window],
    bookings: Iterable[Booking],
    day: date,
    duration_minutes: int,
    now: datetime,
    zone: ZoneInfo,
) -> Iterator[time]:
    """Each start passing the rule, window by window (overlapping windows may repeat one)."""
    past = _bookable_day(day, now, zone)
    if past is None:
        return
    for begin in _starts(windows, _taken(bookings), duration_minutes, past):
        yield _time(begin)


def free_slots(
    windows: Iterable[Window],
    bookings: Iterable[Booking],
    day: date,
    duration_minutes: int,
    now: datetime,
    zone: ZoneInfo,
) -> list[time]:
    """Start times on the 30-minute grid where `duration_minutes` fits inside one window,
    overlaps no booking, starts after `now`, and `day` is within the booking horizon."""
    return sorted(set(_open_starts(windows, bookings, day, duration_minutes, now, zone)))


def has_free_slot(
    windows: Iterable[Window],
    bookings: Iterable[Booking],
    day: date,
    duration_minutes: int,
    now: datetime,
    zone: ZoneInfo,
) -> bool:
    """`free_slots(...) != []`, stopping at the first free start (search asks this of
    every candidate provider)."""
    past = _bookable_day(day, now, zone)
    return past is not None and _any_start(windows, _taken(bookings), duration_minutes, past)


def providers_free_on(
    windows_by_provider: Mapping[str, Sequence[Window]],
    bookings_by_provider: Mapping[str, Sequence[Booking]],
    day: date,
    duration_minutes: int,
    now: datetime,
    zone: ZoneInfo,
) -> set[str]:
    """The providers (keys of `windows_by_provider`) for which `has_free_slot` holds on `day`.

    Search asks this of thousands of providers at once: the day's checks are made once, and
    providers without a booking that day, whose answer depends on their windows alone, are
    judged once per windows object (the search directory shares one among equal schedules).
    Each provider's day is judged in its own zone (`zone_of_day`)."""
    pasts: dict[ZoneInfo, frozenset[int] | None] = {}
    free: set[str] = set()
    unbooked: dict[int, bool] = {}  # by id(): equal schedules are common, hashing them is not free
    for provider, windows in windows_by_provider.items():
        day_zone = zone_of_day(windows, zone)
        if day_zone not in pasts:
            pasts[day_zone] = _bookable_day(day, now, day_zone)
        past = pasts[day_zone]
        if past is None:
            continue
        if own := bookings_by_provider.get(provider):
            is_open = _any_start(windows, _taken(own), duration_minutes, past)
        elif (known := unbooked.get(id(windows))) is not None:
            is_open = known
        else:
            is_open = unbooked[id(windows)] = _any_start(windows, (), duration_minutes, past)
        if is_open:
            free.add(provider)
    return free


def is_free_slot(
    start: time,
    windows: Iterable[Window],
    bookings: Iterable[Booking],
    day: date,
    duration_minutes: int,
    now: datetime,
    zone: ZoneInfo,
) -> bool:
    return start in free_slots(windows, bookings, day, duration_minutes, now, zone)


def first_free_day(
    weekly_windows: Mapping[str, Sequence[Window]],
    bookings_by_day: Mapping[date, Sequence[Booking]],
    duration_minutes: int,
    now: datetime,
    zone: ZoneInfo,
    *,
    first: date | None = None,
    last: date | None = None,
    windows_of_day: Callable[[date, Sequence[Window]], Sequence[Window]] | None = None,
) -> date | None:
    """The first day from today up to the horizon with a free slot, or None. `first` and
    `last` narrow the days looked at (the caller then holds only their bookings);
    `windows_of_day(day, weekly)` turns a weekday's windows into the day's (time off, extra
    hours), and each day is judged in its windows' zone.

    The walk starts a day before the clinic's today: a location west of the clinic may still be
    on that date (`has_free_slot` refuses it where it is not)."""
    if windows_of_day is None and not any(weekly_windows.values()):
        return None
    today = clinic_today(now, zone)
    horizon = booking_horizon(today)
    earliest = today - timedelta(days=1)
    day = earliest if first is None else max(first, earliest)
    last = horizon + timedelta(days=1) if last is None else min(last, horizon + timedelta(days=1))
    while day <= last:
        windows = weekly_windows.get(WEEKDAY_NAMES[day.weekday()], ())
        if windows_of_day is not None:
            windows = windows_of_day(day, windows)
        if windows and has_free_slot(
            windows,
            bookings_by_day.get(day, ()),
            day,
            duration_minutes,
            now,
            zone_of_day(windows, zone),
        ):
            return day
        day += timedelta(days=1)
    return None

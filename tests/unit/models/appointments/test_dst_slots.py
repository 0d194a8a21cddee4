"""Slots on the daylight-saving days of both demo zones: the spring gap offers no start that
does not exist, the autumn repeat offers each start once, and no window shifts by an hour."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from models.appointments.rules.slots import (
    Window,
    free_slots,
    has_free_slot,
    is_free_slot,
    starts_at,
)

ZONES = [ZoneInfo("America/New_York"), ZoneInfo("America/Los_Angeles")]
SPRING = date(2027, 3, 14)  # 02:00 -> 03:00 in both zones
AUTUMN = date(2026, 11, 1)  # 02:00 -> 01:00 in both zones
BEFORE = datetime(2026, 10, 20, 12, 0, tzinfo=UTC)  # both days are within the horizon
NIGHT = [Window(time(0), time(5))]


def _instants(day: date, starts: list[time], zone: ZoneInfo) -> list[datetime]:
    return [starts_at(day, start, zone) for start in starts]


@pytest.mark.parametrize("zone", ZONES, ids=str)
def test_the_spring_gap_offers_no_start_that_does_not_exist(zone: ZoneInfo) -> None:
    slots = free_slots(NIGHT, [], SPRING, 30, datetime(2027, 3, 1, tzinfo=UTC), zone)
    assert slots == [time(0), time(0, 30), time(1), time(1, 30),
                     time(3), time(3, 30), time(4), time(4, 30)]  # fmt: skip
    instants = _instants(SPRING, slots, zone)
    assert len(set(instants)) == len(instants), "two slots at one instant"
    assert [i.astimezone(zone).time() for i in instants] == slots, "a slot moved by an hour"
    assert (instants[4] - instants[3]).total_seconds() == 30 * 60  # 01:30 then 03:00, real time


@pytest.mark.parametrize("zone", ZONES, ids=str)
def test_a_start_inside_the_gap_cannot_be_booked(zone: ZoneInfo) -> None:
    now = datetime(2027, 3, 1, tzinfo=UTC)
    for start in (time(2), time(2, 30)):
        assert not is_free_slot(start, NIGHT, [], SPRING, 30, now, zone)
    gap_only = [Window(time(2), time(3))]
    assert free_slots(gap_only, [], SPRING, 30, now, zone) == []
    assert not has_free_slot(gap_only, [], SPRING, 30, now, zone)


@pytest.mark.parametrize("zone", ZONES, ids=str)
def test_the_autumn_repeat_offers_each_start_once_at_its_first_occurrence(zone: ZoneInfo) -> None:
    slots = free_slots(NIGHT, [], AUTUMN, 30, BEFORE, zone)
    assert slots == [time(h, m) for h in range(5) for m in (0, 30)]
    instants = _instants(AUTUMN, slots, zone)
    assert instants == sorted(set(instants)), "slots repeat or run backwards in real time"
    assert [i.astimezone(zone).time() for i in instants] == slots
    one_am = datetime(2026, 11, 1, 1, 0, tzinfo=zone)  # fold=0: the first 01:00 (daylight)
    assert instants[2] == one_am.astimezone(UTC)
    assert one_am.dst() is not None and one_am.dst().total_seconds() == 3600


@pytest.mark.parametrize("zone", ZONES, ids=str)
def test_during_the_repeated_hour_past_starts_are_judged_by_real_time(zone: ZoneInfo) -> None:
    first_0145 = datetime(2026, 11, 1, 1, 45, tzinfo=zone)  # daylight time, the first 01:45
    second_0115 = datetime(2026, 11, 1, 1, 15, fold=1, tzinfo=zone)  # standard time, later
    assert free_slots(NIGHT, [], AUTUMN, 30, first_0145, zone)[0] == time(2)
    assert free_slots(NIGHT, [], AUTUMN, 30, second_0115, zone)[0] == time(2)


@pytest.mark.parametrize("zone", ZONES, ids=str)
@pytest.mark.parametrize(
    ("before", "after"),
    [(date(2027, 3, 8), date(2027, 3, 15)), (date(2026, 10, 26), date(2026, 11, 2))],
    ids=["spring", "autumn"],
)
def test_weekly_hours_keep_their_wall_times_across_a_change(
    zone: ZoneInfo, before: date, after: date
) -> None:
    # The bug slot engines are known for: hours stored as UTC move by an hour after a change.
    office = [Window(time(9), time(12))]
    now = datetime(2026, 10, 1, tzinfo=UTC)
    ahead = free_slots(office, [], before, 30, now, zone)
    behind = free_slots(office, [], after, 30, now, zone)
    assert ahead == behind == [time(9), time(9, 30), time(10), time(10, 30), time(11),
                               time(11, 30)]  # fmt: skip
    offsets = {starts_at(d, time(9), zone).astimezone(zone).utcoffset() for d in (before, after)}
    assert len(offsets) == 2  # the same wall time, an hour apart in UTC

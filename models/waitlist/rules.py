"""The waitlist's rules as plain functions over plain values: which entries a freed slot
matches, what state an offer is in now, and what a patient may ask for.

Days and times of a slot are wall-clock values in `zone` (the clinic's zone today; the zone of
the slot's location once locations have their own): "morning" and "afternoon" are judged on that
wall clock, "now" and "today" in that zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from kernel.errors import FieldError
from models.appointments.rules.slots import (
    booking_horizon,
    clinic_today,
    starts_at,
    within_booking_horizon,
)

TIMES_OF_DAY = ("morning", "afternoon", "any")
# Stored states. An entry past its range is shown `expired` (derived, never stored).
ENTRY_STATUSES = ("active", "fulfilled", "left")
OFFER_STATUSES = ("open", "accepted", "declined", "expired", "taken", "withdrawn")
SLOT_STATUSES = ("offering", "filled", "exhausted", "gone")
# Morning ends at noon on the slot's wall clock.
NOON = time(12)

REFUSALS = {
    "accepted": "You have already accepted this offer",
    "declined": "You declined this offer",
    "expired": "This offer has expired",
    "taken": "This time has been taken by another patient",
    "withdrawn": "This offer was withdrawn: its waitlist entry has ended",
}


@dataclass(frozen=True)
class Wish:
    """What a waitlist entry asks for."""

    provider_id: str | None
    specialty: str | None
    first_day: date
    last_day: date
    time_of_day: str
    visit_type: str


@dataclass(frozen=True)
class OpenSlot:
    """A freed start of a provider, on the wall clock of its zone."""

    provider_id: str
    specialty: str
    day: date
    start: time
    minutes: int


def time_of_day(start: time) -> str:
    """'morning' before noon on the slot's wall clock, else 'afternoon'."""
    return "morning" if start < NOON else "afternoon"


def wants_time(preference: str, start: time) -> bool:
    return preference == "any" or preference == time_of_day(start)


def matches(wish: Wish, slot: OpenSlot, now: datetime, zone: ZoneInfo) -> bool:
    """Does the freed slot fit the entry: its provider (or specialty), a day in the entry's
    range, the time of day it prefers, and still ahead of `now` and within the booking horizon
    (both judged in `zone`)? Whether the entry's visit fits there (a 60-minute procedure in a
    freed 30 minutes followed by free time) is the slot rules' question, asked of the day."""
    if wish.provider_id is not None:
        if wish.provider_id != slot.provider_id:
            return False
    elif wish.specialty != slot.specialty:
        return False
    if not wish.first_day <= slot.day <= wish.last_day:
        return False
    if not within_booking_horizon(slot.day, clinic_today(now, zone)):
        return False
    if starts_at(slot.day, slot.start, zone) <= now:
        return False
    return wants_time(wish.time_of_day, slot.start)


def is_expired_entry(last_day: date, now: datetime, zone: ZoneInfo) -> bool:
    """An entry ends with the last day of its range."""
    return last_day < clinic_today(now, zone)


def entry_state(stored: str, last_day: date, now: datetime, zone: ZoneInfo) -> str:
    if stored == "active" and is_expired_entry(last_day, now, zone):
        return "expired"
    return stored


def wish_problems(wish: Wish, now: datetime, zone: ZoneInfo) -> list[FieldError]:
    """What is wrong with a new entry's range: it must start today or later, end no earlier
    than it starts, and lie within the booking horizon."""
    today = clinic_today(now, zone)
    problems = []
    if wish.first_day < today:
        problems.append(FieldError("startDate", "must be today or a future date"))
    if wish.last_day < wish.first_day:
        problems.append(FieldError("endDate", "must not be before startDate"))
    horizon = booking_horizon(today)
    if wish.last_day > horizon:
        problems.append(
            FieldError("endDate", f"cannot be more than 6 months ahead (last: {horizon})")
        )
    if (wish.provider_id is None) == (wish.specialty is None):
        problems.append(FieldError("providerId", "give either providerId or specialty"))
    return problems


def offer_expiry(now: datetime, minutes: int) -> datetime:
    return now + timedelta(minutes=minutes)


def offer_state(stored: str, expires_at: datetime, now: datetime, slot_free: bool) -> str:
    """What an offer is now. A stored `open` offer is `expired` once its time is up and `taken`
    once its slot is no longer free for its visit (someone booked it, the hours changed), even
    before any pass has written so: a patient is never shown an open offer of a gone slot."""
    if stored != "open":
        return stored
    if now >= expires_at:
        return "expired"
    return "open" if slot_free else "taken"


def refusal_to_accept(state: str) -> str | None:
    """Why an offer in `state` cannot be accepted (or declined), or None when it can."""
    return None if state == "open" else REFUSALS.get(state, "This offer is closed")


def offers_to_make(fanout: int, open_offers: int) -> int:
    """How many more patients a slot is offered to: up to `fanout` at once."""
    return max(fanout - open_offers, 0)

"""What the API does with a provider's schedule: read and replace the weekly windows, add, list
and remove time off and extra hours.

Every change locks the provider's profile row first, the lock booking takes, so a change and a
booking of one provider never interleave: a booking committed first is seen by the change (and
reported if the change would leave it outside the hours); a booking arriving after the change
reads the new hours. A change that would leave booked appointments outside the hours is refused
(`HoursHoldBookings`, naming them) unless the caller sends `conflicts="keep"`: the change is then
made and the appointments stay booked as they are, outside the new hours, listed in the answer.
Starts a change opens (new hours, time off lifted) are handed to `SlotsOpened`, the waitlist's
hook, in the same unit of work, as a cancellation hands over the slot it frees.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, time, timedelta
from typing import Generic, TypeVar

from sqlalchemy.orm import Session

from kernel.clock import Clock
from kernel.database import reads, writes
from kernel.errors import FieldError, InvalidInput
from models.appointments.errors import ProviderNotFound
from models.appointments.queries.availability import load_weekly_windows
from models.appointments.queries.schedules import load_changes
from models.appointments.rules.schedules import (
    TimeOff,
    WeeklyWindow,
    time_off_problems,
    weekly_problems,
    window_problems,
    windows_on,
)
from models.appointments.rules.slots import (
    SLOT_GRID_MINUTES,
    WEEKDAY_NAMES,
    clinic_today,
    format_time_of_day,
    within_booking_horizon,
)
from models.appointments.tables import ProviderAvailability, ProviderExtraHours, ProviderTimeOff
from models.appointments.use_cases.appointments import FreedSlot
from models.providers.tables import ProviderLocation, ProviderProfile
from models.schedules import queries
from models.schedules.errors import (
    ExtraHoursNotFound,
    HoursHoldBookings,
    NoLocation,
    TimeOffNotFound,
)
from security import audit
from security.identity import Identity
from security.policy.schedules import require_schedule_editor, require_schedule_reader

CONFLICT_CHOICES = ("refuse", "keep")
T = TypeVar("T")
V = TypeVar("V")

# Called with the starts a change has just opened (one provider's, not bookable before it),
# inside the change's unit of work with the provider locked; the layer above passes it down.
SlotsOpened = Callable[[Session, str, Sequence[FreedSlot], Clock], None]


@dataclass(frozen=True)
class WindowRequest:
    """A weekly window as asked for; `location_id` None: the primary location."""

    weekday: str
    start: time
    end: time
    location_id: str | None
    is_active: bool


@dataclass(frozen=True)
class KeptVisit:
    """An appointment left booked outside the provider's new hours."""

    id: str
    day: date
    start: time
    zone: str


@dataclass(frozen=True)
class Located:
    """A schedule row with the zone its times are in."""

    row: ProviderAvailability | ProviderExtraHours
    zone: str


@dataclass(frozen=True)
class Changed(Generic[V]):
    """The result of a schedule change, and the appointments it left outside the hours."""

    value: V
    kept: list[KeptVisit]


def _provider(session: Session, identity: Identity, provider_user_id: str) -> ProviderProfile:
    require_schedule_editor(identity, provider_user_id)
    profile = queries.lock_provider(session, provider_user_id)
    if profile is None:
        raise ProviderNotFound()
    return profile


def _readable(session: Session, identity: Identity, provider_user_id: str) -> ProviderProfile:
    require_schedule_reader(identity, provider_user_id)
    profile = session.query(ProviderProfile).filter_by(user_id=provider_user_id).first()
    if profile is None:
        raise ProviderNotFound()
    return profile


def _zones(locations: Sequence[ProviderLocation], clinic: str) -> dict[str, str]:
    return {location.id: location.time_zone or clinic for location in locations}


def _guarded(
    session: Session,
    provider_user_id: str,
    change: Callable[[], T],
    conflicts: str,
    clock: Clock,
    opened: SlotsOpened | None,
) -> Changed[T]:
    """Make `change`, then compare which bookings lie inside the hours before and after it: any
    the change leaves outside are refused (the whole change rolls back) or, with
    `conflicts="keep"`, kept and listed. The starts it opens go to `opened`."""
    before = queries.holding(session, provider_user_id, clock)
    open_before = queries.open_starts(session, provider_user_id, clock) if opened else set()
    value = change()
    session.flush()
    after = queries.holding(session, provider_user_id, clock)
    outside = [aid for aid, inside in before.items() if inside and not after.get(aid, True)]
    kept = _described(session, provider_user_id, outside, clock)
    if kept and conflicts != "keep":
        raise HoursHoldBookings(
            details=[
                FieldError(
                    f"appointments/{visit.id}",
                    f"booked {visit.day.isoformat()} {format_time_of_day(visit.start)} "
                    f"({visit.zone})",
                )
                for visit in kept
            ]
        )
    if kept:
        audit.note(details={"keptAppointments": [visit.id for visit in kept]})
    if opened is not None:
        new = sorted(queries.open_starts(session, provider_user_id, clock) - open_before)
        freed = [FreedSlot(provider_user_id, day, start, SLOT_GRID_MINUTES) for day, start in new]
        opened(session, provider_user_id, freed, clock)
    return Changed(value, kept)


def _described(
    session: Session, provider_user_id: str, ids: Sequence[str], clock: Clock
) -> list[KeptVisit]:
    if not ids:
        return []
    wanted = set(ids)
    return [
        KeptVisit(visit.id, visit.day, visit.start, visit.time_zone or clock.zone.key)
        for visit in queries.booked_visits(session, provider_user_id, *queries.bookable_span(clock))
        if visit.id in wanted
    ]


# -- weekly windows ---------------------------------------------------------------------------


@reads
def get_availability(
    session: Session, identity: Identity, provider_user_id: str, clock: Clock
) -> list[Located]:
    """The provider's weekly windows (active or not), with the zone of each one's location."""
    profile = _readable(session, identity, provider_user_id)
    return _located_windows(session, profile, clock)


def _located_windows(session: Session, profile: ProviderProfile, clock: Clock) -> list[Located]:
    zones = _zones(queries.locations_of(session, profile.id), clock.zone.key)
    windows = sorted(
        queries.windows_of(session, profile.id),
        key=lambda w: (WEEKDAY_NAMES.index(w.day_of_week), w.start_time),
    )
    return [Located(w, zones.get(w.location_id or "", clock.zone.key)) for w in windows]


@writes
def replace_availability(
    session: Session,
    identity: Identity,
    provider_user_id: str,
    windows: Sequence[WindowRequest],
    conflicts: str,
    clock: Clock,
    opened: SlotsOpened | None = None,
) -> Changed[list[Located]]:
    """Replace the provider's weekly windows with `windows`, at once for slots and booking."""
    profile = _provider(session, identity, provider_user_id)
    locations = queries.locations_of(session, profile.id)
    if not locations:
        raise NoLocation()
    zones = _zones(locations, clock.zone.key)
    wanted = [
        WeeklyWindow(w.weekday, w.start, w.end, w.location_id or locations[0].id, w.is_active)
        for w in windows
    ]
    if problems := weekly_problems(wanted, zones):
        raise InvalidInput(details=problems)

    def change() -> list[Located]:
        queries.delete_windows(session, profile.id)
        session.flush()
        for w in wanted:
            session.add(
                ProviderAvailability(
                    provider_id=profile.id,
                    day_of_week=w.weekday,
                    start_time=w.start,
                    end_time=w.end,
                    location_id=w.location_id,
                    is_active=w.is_active,
                )
            )
        session.flush()
        return _located_windows(session, profile, clock)

    audit.note(resource_id=provider_user_id, details={"windows": len(wanted)})
    return _guarded(session, provider_user_id, change, conflicts, clock, opened)


# -- time off ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TimeOffRequest:
    first: date
    last: date
    start_time: time | None
    end_time: time | None
    reason: str | None


@reads
def list_time_off(
    session: Session, identity: Identity, provider_user_id: str, clock: Clock
) -> list[ProviderTimeOff]:
    """The provider's time off that has not ended yet."""
    profile = _readable(session, identity, provider_user_id)
    today = clinic_today(clock.now, clock.zone)
    return queries.time_off_of(session, profile.id, today - timedelta(days=1))


@writes
def add_time_off(
    session: Session,
    identity: Identity,
    provider_user_id: str,
    request: TimeOffRequest,
    conflicts: str,
    clock: Clock,
) -> Changed[ProviderTimeOff]:
    """Block the provider's hours from a start to an end (whole days, or part of one)."""
    profile = _provider(session, identity, provider_user_id)
    off = TimeOff(request.first, request.last, request.start_time, request.end_time)
    if problems := time_off_problems(off, clinic_today(clock.now, clock.zone)):
        raise InvalidInput(details=problems)

    def change() -> ProviderTimeOff:
        row = ProviderTimeOff(
            provider_id=profile.id,
            start_date=off.first,
            end_date=off.last,
            start_time=off.start_time,
            end_time=off.end_time,
            reason=request.reason,
        )
        session.add(row)
        return row

    changed = _guarded(session, provider_user_id, change, conflicts, clock, None)
    audit.note(resource_id=changed.value.id)
    return changed


@writes
def delete_time_off(
    session: Session,
    identity: Identity,
    provider_user_id: str,
    time_off_id: str,
    clock: Clock,
    opened: SlotsOpened | None = None,
) -> None:
    """Remove time off: its hours are bookable again at once (no booking can be displaced)."""
    profile = _provider(session, identity, provider_user_id)
    row = session.get(ProviderTimeOff, time_off_id)
    if row is None or row.provider_id != profile.id:
        raise TimeOffNotFound()
    audit.note(resource_id=row.id)
    _guarded(session, provider_user_id, lambda: session.delete(row), "refuse", clock, opened)


# -- extra hours ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ExtraHoursRequest:
    day: date
    start: time
    end: time
    location_id: str | None


@reads
def list_extra_hours(
    session: Session, identity: Identity, provider_user_id: str, clock: Clock
) -> list[Located]:
    """The provider's extra hours from today on, with their locations' zones."""
    profile = _readable(session, identity, provider_user_id)
    zones = _zones(queries.locations_of(session, profile.id), clock.zone.key)
    today = clinic_today(clock.now, clock.zone)
    rows = queries.extra_hours_of(session, profile.id, today - timedelta(days=1))
    return [Located(row, zones.get(row.location_id or "", clock.zone.key)) for row in rows]


@writes
def add_extra_hours(
    session: Session,
    identity: Identity,
    provider_user_id: str,
    request: ExtraHoursRequest,
    clock: Clock,
    opened: SlotsOpened | None = None,
) -> Located:
    """Add hours on one date at one of the provider's locations (adding never displaces a
    booking)."""
    profile = _provider(session, identity, provider_user_id)
    locations = queries.locations_of(session, profile.id)
    if not locations:
        raise NoLocation()
    zones = _zones(locations, clock.zone.key)
    location_id = request.location_id or locations[0].id
    problems = window_problems("startTime", request.start, request.end)
    if location_id not in zones:
        problems.append(FieldError("locationId", "is not one of the provider's"))
    else:
        zone = zones[location_id]
        today = clinic_today(clock.now, queries.zone_named(zone, clock))
        if not within_booking_horizon(request.day, today):
            problems.append(FieldError("date", "must be from today up to the booking horizon"))
        weekly = load_weekly_windows(session, [provider_user_id])[provider_user_id]
        changes = load_changes(session, [provider_user_id], request.day, request.day)
        day_windows = windows_on(
            request.day,
            weekly.get(WEEKDAY_NAMES[request.day.weekday()], []),
            changes[provider_user_id].get(request.day),
        )
        other = {w.zone or clock.zone.key for w in day_windows} - {zone}
        if other:
            problems.append(
                FieldError(
                    "locationId", f"that day is worked in {sorted(other)[0]}; one zone per day"
                )
            )
    if problems:
        raise InvalidInput(details=problems)
    row = ProviderExtraHours(
        provider_id=profile.id,
        date=request.day,
        start_time=request.start,
        end_time=request.end,
        location_id=location_id,
    )
    _guarded(session, provider_user_id, lambda: session.add(row), "refuse", clock, opened)
    audit.note(resource_id=row.id)
    return Located(row, zones[location_id])


@writes
def delete_extra_hours(
    session: Session,
    identity: Identity,
    provider_user_id: str,
    extra_hours_id: str,
    conflicts: str,
    clock: Clock,
) -> Changed[None]:
    """Remove extra hours; bookings they hold are refused or kept as `conflicts` says."""
    profile = _provider(session, identity, provider_user_id)
    row = session.get(ProviderExtraHours, extra_hours_id)
    if row is None or row.provider_id != profile.id:
        raise ExtraHoursNotFound()
    audit.note(resource_id=row.id)
    return _guarded(session, provider_user_id, lambda: session.delete(row), conflicts, clock, None)

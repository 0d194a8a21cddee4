"""Queries that feed the slot rules: a provider's windows and live bookings.

`load_day` is the one query behind every "is this time free?" question about one day (available
slots, booking, rescheduling); `rules.slots.free_slots` then answers it without the database.
Providers are named by their user id (what the API and `appointments.provider_id` use). The
batch loaders answer for many providers in one statement each, so a search never runs a query
per provider or per day.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import QueryableAttribute, Session

from kernel.packed import Packed
from models.accounts.tables import User
from models.appointments.queries.schedules import (
    ChangesByDay,
    changes_by_day,
    changes_from_rows,
    day_changes_selects,
    load_changes,
    span_changes_selects,
)
from models.appointments.rules.schedules import DayChanges, windows_on
from models.appointments.rules.slots import (
    DEFAULT_DURATION_MINUTES,
    WEEKDAY_NAMES,
    Booking,
    Window,
    booking_horizon,
    clinic_today,
    first_free_day,
    providers_free_on,
    zone_of_day,
)
from models.appointments.rules.visits import SEEN_STATUSES
from models.appointments.tables import (
    Appointment,
    ProviderAvailability,
)
from models.providers.rules import address_line
from models.providers.tables import ProviderLocation, ProviderProfile

WeeklyWindows = dict[str, list[Window]]
# Days from today whose bookings `next_available_dates` reads first: most providers have a
# free day within two weeks.
FIRST_LOOK_DAYS = 14


def as_text(column: sa.ColumnElement[Any] | QueryableAttribute[Any]) -> sa.Cast[str]:
    """A TIME or DATE column read as ISO text, for the queries that return thousands of rows:
    the MySQL driver's own TIME conversion costs several times what the query itself does,
    while `time.fromisoformat`/`date.fromisoformat` (C) parse the text almost for free."""
    return sa.cast(column, sa.String)


def window_of(
    start: str, end: str, location_id: str | None = None, zone: str | None = None
) -> Window:
    return Window(time.fromisoformat(start), time.fromisoformat(end), location_id or "", zone or "")


def booking_of(start: str, duration: int) -> Booking:
    return Booking(time.fromisoformat(start), duration)


def live_bookings() -> sa.ColumnElement[bool]:
    """Appointments that hold their time: every status except cancelled."""
    return Appointment.status != "cancelled"


@dataclass(frozen=True)
class ProviderRef:
    """What scheduling needs of a provider's profile: its id, whether it takes new patients, and
    the name its patients' messages give."""

    id: str
    accepting_new_patients: bool
    name: str


@dataclass(frozen=True)
class ProviderDay:
    """A provider's windows on one day (the weekday's active ones with that date's extra hours,
    less its time off) and non-cancelled bookings, and the addresses on one line of the
    weekday's windows' locations, by location id (extra hours may name others)."""

    profile: ProviderRef
    windows: list[Window]
    bookings: list[Booking]
    addresses: Mapping[str, str]

    def zone(self, clinic_zone: ZoneInfo) -> ZoneInfo:
        """The zone the day is worked in (its windows' location's), else the clinic's."""
        return zone_of_day(self.windows, clinic_zone)


# The statements behind every slots request, booking and rescheduling, built once: SQLAlchemy
# then skips constructing them and computing their cache keys on each call (about a third of
# `load_day`'s time). Values arrive as the named bind parameters.
_PROVIDER_WITH_WINDOWS = (
    sa.select(
        ProviderProfile.id,
        ProviderProfile.accepting_new_patients,
        User.first_name,
        User.last_name,
        ProviderAvailability.start_time,
        ProviderAvailability.end_time,
        ProviderAvailability.location_id,
        ProviderLocation.time_zone,
        ProviderLocation.address,
        ProviderLocation.city,
        ProviderLocation.state,
        ProviderLocation.zip_code,
    )
    .join(User, User.id == ProviderProfile.user_id)
    .outerjoin(
        ProviderAvailability,
        sa.and_(
            ProviderAvailability.provider_id == ProviderProfile.id,
            ProviderAvailability.day_of_week == sa.bindparam("weekday"),
            ProviderAvailability.is_active.is_(True),
        ),
    )
    .outerjoin(ProviderLocation, ProviderLocation.id == ProviderAvailability.location_id)
    .where(ProviderProfile.user_id == sa.bindparam("provider"), User.is_active.is_(True))
    .order_by(ProviderAvailability.start_time)
)
# The day's time off and extra hours (`queries.schedules`), as the branches below pack them.
_TIME_OFF_OF_DAY, _EXTRA_HOURS_OF_DAY = day_changes_selects(sa.null().label("duration"))


def _packed_branch(select: sa.Select[*tuple[Any, ...]], kind: str) -> tuple[sa.Select[Any], Packed]:
    """`select` as (its `kind`, its columns packed into one JSON array), for one UNION ALL."""
    packed = Packed(select.selected_columns)
    return select.with_only_columns(
        sa.literal_column(f"'{kind}'").label("kind"), packed.column
    ), packed


# The day as the slots list reads it (no lock): `_PROVIDER_WITH_WINDOWS`'s rows, the day's time
# off and extra hours, and its live bookings, in one UNION ALL, each row its kind and its columns
# packed (`kernel.packed`): one round trip and two column descriptions, which the MySQL driver
# parses in Python, instead of two round trips and twenty-one.
_WINDOWS_BRANCH, _WINDOW_ROW = _packed_branch(_PROVIDER_WITH_WINDOWS.order_by(None), "w")
_OFF_BRANCH, _OFF_ROW = _packed_branch(
    _TIME_OFF_OF_DAY.with_only_columns(*list(_TIME_OFF_OF_DAY.selected_columns)[:8]), "o"
)
_EXTRA_BRANCH, _EXTRA_ROW = _packed_branch(
    _EXTRA_HOURS_OF_DAY.with_only_columns(*list(_EXTRA_HOURS_OF_DAY.selected_columns)[:8]), "x"
)
_BOOKING_BRANCH, _BOOKING_ROW = _packed_branch(
    sa.select(Appointment.start_time, Appointment.duration).where(
        Appointment.provider_id == sa.bindparam("provider"),
        Appointment.date == sa.bindparam("day", type_=sa.Date),
        live_bookings(),
    ),
    "b",
)
_DAY_IN_ONE: sa.CompoundSelect[Any] = sa.union_all(
    _WINDOWS_BRANCH, _OFF_BRANCH, _EXTRA_BRANCH, _BOOKING_BRANCH
)
# A locked read stays two statements, the same packed rows split in two: the provider's windows,
# locking the profile row (and the rows joined to it), the lock every booking change and every
# schedule change of one provider takes first (`lock_provider`); then, once it is held, the
# day's changes and bookings (with or without the one being moved).
_WINDOWS_LOCKED = _WINDOWS_BRANCH.with_for_update()
_CHANGES_AND_BOOKINGS: sa.CompoundSelect[Any] = sa.union_all(
    _OFF_BRANCH, _EXTRA_BRANCH, _BOOKING_BRANCH
)
_CHANGES_AND_BOOKINGS_BUT_ONE: sa.CompoundSelect[Any] = sa.union_all(
    _OFF_BRANCH,
    _EXTRA_BRANCH,
    _BOOKING_BRANCH.where(Appointment.id != sa.bindparam("ignored")),
)


def load_day(
    session: Session,
    provider_user_id: str,
    day: date,
    *,
    for_update: bool = False,
    ignore_appointment_id: str | None = None,
) -> ProviderDay | None:
    """Windows and bookings of provider `provider_user_id` (a users.id) on `day`, or None when
    there is no such provider. `ignore_appointment_id` leaves one booking out (the one being
    moved, whose old slot does not block its new one).

    Two statements: the provider with its windows of that weekday and their locations (one
    row per window, one row without a window when it has none), then that date's time off and
    extra hours (`queries.schedules.day_changes_selects`) with the day's bookings, each row
    packed; without a lock or an ignored booking, both in one (`_DAY_IN_ONE`). With
    `for_update`, the provider's rows are locked until the transaction ends: every booking
    change of one provider reads its day this way first, so they run one after another (SQLite
    ignores it; there the write transaction already holds the database's write lock).
    """
    # Plain rows on the session's connection (no ORM result), after what the session holds is
    # written, as its own execute would do first: the bookings include this transaction's.
    session.flush()
    connection = session.connection()
    values: dict[str, Any] = {
        "provider": provider_user_id,
        "day": day,
        "weekday": WEEKDAY_NAMES[day.weekday()],
    }
    if not for_update and ignore_appointment_id is None:
        rows = connection.execute(_DAY_IN_ONE, values).all()
        return _day_from_packed(rows, connection, provider_user_id, day)
    rows = connection.execute(_WINDOWS_LOCKED if for_update else _WINDOWS_BRANCH, values).all()
    if not rows:
        return None
    if ignore_appointment_id is None:
        day_rows = connection.execute(_CHANGES_AND_BOOKINGS, values).all()
    else:
        values["ignored"] = ignore_appointment_id
        day_rows = connection.execute(_CHANGES_AND_BOOKINGS_BUT_ONE, values).all()
    return _day_from_packed([*rows, *day_rows], connection, provider_user_id, day)


def _day_from_packed(
    rows: Sequence[Any], connection: sa.Connection, provider_user_id: str, day: date
) -> ProviderDay | None:
    """`load_day`'s answer from the rows of `_DAY_IN_ONE`, or of its two locked halves (kind,
    packed columns)."""
    dialect = connection.dialect
    provider_rows: list[Sequence[Any]] = []
    changes: list[Sequence[Any]] = []
    bookings: list[Booking] = []
    for kind, packed in rows:
        if kind == "w":
            provider_rows.append(_WINDOW_ROW.unpack(packed, dialect))
        elif kind == "b":
            bookings.append(Booking(*_BOOKING_ROW.unpack(packed, dialect)))
        else:
            changes.append((_OFF_ROW if kind == "o" else _EXTRA_ROW).unpack(packed, dialect))
    if not provider_rows:
        return None
    return _provider_day(provider_rows, changes, bookings, provider_user_id, day)


def _provider_day(
    provider_rows: Sequence[Sequence[Any]],
    change_rows: Sequence[Sequence[Any]],
    bookings: list[Booking],
    provider_user_id: str,
    day: date,
) -> ProviderDay:
    """The day from the provider's rows (`_PROVIDER_WITH_WINDOWS`'s columns, one per weekly
    window of that weekday, at least one), its changes' rows (`changes_from_rows`) and its
    bookings."""
    profile_id, accepting, first_name, last_name = provider_rows[0][:4]
    weekly: list[Window] = []
    addresses: dict[str, str] = {}
    for row in provider_rows:
        start, end, location_id, zone, address, city, state, zip_code = row[4:]
        if start is not None:
            weekly.append(Window(start, end, location_id or "", zone or ""))
        if address is not None:  # a window with a location (the column is NOT NULL)
            addresses[location_id] = address_line(address, city, state, zip_code)
    weekly.sort()  # by start, as the rules read them
    windows = windows_on(day, weekly, changes_from_rows(change_rows, provider_user_id, day))
    return ProviderDay(
        ProviderRef(profile_id, accepting, provider_name(first_name, last_name)),
        windows,
        bookings,
        addresses,
    )


def active_windows() -> sa.Select[str, str, str, str, str | None, str | None]:
    """(provider's user id, weekday name, start, end as text, location id, location zone) of
    every active weekly window."""
    return (
        sa.select(
            ProviderProfile.user_id,
            ProviderAvailability.day_of_week,
            as_text(ProviderAvailability.start_time),
            as_text(ProviderAvailability.end_time),
            ProviderAvailability.location_id,
            ProviderLocation.time_zone,
        )
        .join(ProviderProfile, ProviderProfile.id == ProviderAvailability.provider_id)
        .outerjoin(ProviderLocation, ProviderLocation.id == ProviderAvailability.location_id)
        .where(ProviderAvailability.is_active.is_(True))
    )


def load_weekly_windows(
    session: Session, provider_user_ids: Collection[str]
) -> dict[str, WeeklyWindows]:
    """Active weekly windows of each provider, by weekday name, in one query."""
    weekly: dict[str, WeeklyWindows] = {pid: defaultdict(list) for pid in provider_user_ids}
    if not provider_user_ids:
        return weekly
    rows = session.execute(
        active_windows().where(ProviderProfile.user_id.in_(list(provider_user_ids)))
    )
    for user_id, weekday, start, end, location_id, zone in rows:
        weekly[user_id][weekday].append(window_of(start, end, location_id, zone))
    return weekly


# Live bookings of the bound `providers` (user ids) from `first` to `last`: built once.
_BOOKINGS_OF_SPAN = sa.select(
    Appointment.provider_id,
    as_text(Appointment.date),
    as_text(Appointment.start_time),
    Appointment.duration,
).where(
    Appointment.provider_id.in_(sa.bindparam("providers", expanding=True)),
    Appointment.date.between(
        sa.bindparam("first", type_=sa.Date), sa.bindparam("last", type_=sa.Date)
    ),
    live_bookings(),
)


def load_bookings(
    session: Session, provider_user_ids: Collection[str], first: date, last: date
) -> dict[str, dict[date, list[Booking]]]:
    """Live bookings of each provider from `first` to `last` (inclusive), by day, in one query."""
    found: dict[str, dict[date, list[Booking]]] = {
        pid: defaultdict(list) for pid in provider_user_ids
    }
    if not provider_user_ids:
        return found
    # Plain rows on the session's connection, after what the session holds is written.
    session.flush()
    rows = session.connection().execute(
        _BOOKINGS_OF_SPAN, {"providers": list(provider_user_ids), "first": first, "last": last}
    )
    for provider_id, day, start, duration in rows:
        found[provider_id][date.fromisoformat(day)].append(booking_of(start, duration))
    return found


# What `next_available_dates` reads first, in one UNION ALL of packed rows (as `_DAY_IN_ONE`):
# the time off and extra hours of the bound `providers` from `first` to `last`, and their live
# bookings from `first` to `bookings_last`, one row per provider holding all of them
# (`Packed.aggregated`): a search's page of providers can have hundreds of bookings in that span,
# and the MySQL driver parses each row in Python.
_SPAN_OFF, _SPAN_EXTRA = span_changes_selects()
_SPAN_OFF_BRANCH, _SPAN_OFF_ROW = _packed_branch(_SPAN_OFF, "o")
_SPAN_EXTRA_BRANCH, _SPAN_EXTRA_ROW = _packed_branch(_SPAN_EXTRA, "x")
_SPAN_BOOKING_ROW = Packed(
    (Appointment.provider_id, Appointment.date, Appointment.start_time, Appointment.duration)
)
_SPAN_BOOKINGS_BRANCH: sa.Select[Any, str] = (
    sa.select(
        sa.literal_column("'b'").label("kind"), _SPAN_BOOKING_ROW.aggregated().label("packed")
    )
    .where(
        Appointment.provider_id.in_(sa.bindparam("providers", expanding=True)),
        Appointment.date.between(
            sa.bindparam("first", type_=sa.Date), sa.bindparam("bookings_last", type_=sa.Date)
        ),
        live_bookings(),
    )
    .group_by(Appointment.provider_id)
)
_CHANGES_AND_BOOKINGS_OF_SPAN: sa.CompoundSelect[Any] = sa.union_all(
    _SPAN_OFF_BRANCH, _SPAN_EXTRA_BRANCH, _SPAN_BOOKINGS_BRANCH
)


def load_changes_and_bookings(
    session: Session,
    provider_user_ids: Collection[str],
    first: date,
    last: date,
    bookings_last: date,
) -> tuple[dict[str, ChangesByDay], dict[str, dict[date, list[Booking]]]]:
    """Each provider's time off and extra hours from `first` to `last` (as
    `queries.schedules.load_changes`) and live bookings from `first` to `bookings_last` (as
    `load_bookings`), by day, in one statement."""
    changes: dict[str, ChangesByDay] = {pid: {} for pid in provider_user_ids}
    bookings: dict[str, dict[date, list[Booking]]] = {
        pid: defaultdict(list) for pid in provider_user_ids
    }
    if not provider_user_ids:
        return changes, bookings
    # Plain rows on the session's connection, after what the session holds is written.
    session.flush()
    connection = session.connection()
    dialect = connection.dialect
    values = {
        "providers": list(provider_user_ids),
        "first": first,
        "last": last,
        "bookings_last": bookings_last,
    }
    change_rows: list[Sequence[Any]] = []
    for row in connection.execute(_CHANGES_AND_BOOKINGS_OF_SPAN, values):
        if row.kind == "b":
            for provider_id, day, start, duration in _SPAN_BOOKING_ROW.unpack_all(
                row.packed, dialect
            ):
                bookings[provider_id][day].append(Booking(start, duration))
        else:
            of_kind = _SPAN_OFF_ROW if row.kind == "o" else _SPAN_EXTRA_ROW
            change_rows.append(of_kind.unpack(row.packed, dialect))
    changes.update(changes_by_day(change_rows, first, last))
    return changes, bookings


def next_available_dates(
    session: Session,
    weekly_windows: Mapping[str, Mapping[str, Sequence[Window]]],
    now: datetime,
    zone: ZoneInfo,
) -> dict[str, date | None]:
    """Each provider's (the keys of `weekly_windows`) first day, today to the booking horizon,
    with a free slot for a visit of the default length, the days walked in memory with each
    date's time off and extra hours (read live).

    Most providers have a free day soon, so the bookings are read in two steps: the
    first FIRST_LOOK_DAYS for all of them (in one statement with the time off and extra hours),
    then the rest of the horizon only for those still without a free day (one more statement,
    when there are any)."""
    today = clinic_today(now, zone)
    first, horizon = today - timedelta(days=1), booking_horizon(today) + timedelta(days=1)
    soon = min(today + timedelta(days=FIRST_LOOK_DAYS - 1), horizon)
    changes, bookings = load_changes_and_bookings(
        session, weekly_windows.keys(), first, horizon, soon
    )

    def first_free(
        pid: str, bookings: Mapping[date, Sequence[Booking]], **span: date
    ) -> date | None:
        own = changes[pid]
        return first_free_day(
            weekly_windows[pid],
            bookings,
            DEFAULT_DURATION_MINUTES,
            now,
            zone,
            windows_of_day=(lambda day, weekly: windows_on(day, weekly, own.get(day)))
            if own
            else None,
            **span,
        )

    found = {pid: first_free(pid, bookings[pid], last=soon) for pid in weekly_windows}
    later = [
        pid
        for pid, day in found.items()
        if day is None and (any(weekly_windows[pid].values()) or changes[pid])
    ]
    if later and soon < horizon:
        after = soon + timedelta(days=1)
        bookings = load_bookings(session, later, after, horizon)
        for pid in later:
            found[pid] = first_free(pid, bookings[pid], first=after)
    return found


# Up to this many providers, naming them in the query for a day's bookings costs less than
# reading the bookings of every provider that day: each named id costs an index lookup, while the
# whole day's bookings cost the same whatever the names (docs/performance.md, providers at scale).
FEW_PROVIDERS = 100


# The live bookings of one day (`day`), of every provider or of the bound `providers`: built
# once.
_BOOKINGS_ON = sa.select(
    Appointment.provider_id, as_text(Appointment.start_time), Appointment.duration
).where(Appointment.date == sa.bindparam("day", type_=sa.Date), live_bookings())
_BOOKINGS_ON_OF = _BOOKINGS_ON.where(
    Appointment.provider_id.in_(sa.bindparam("providers", expanding=True))
)


def bookings_on(
    session: Session, day: date, providers: Collection[str]
) -> dict[str, list[Booking]]:
    """The live bookings of `providers` on `day`, in one statement; beyond FEW_PROVIDERS,
    those of every provider that day."""
    session.flush()  # plain rows on the session's connection, after what it holds is written
    if len(providers) <= FEW_PROVIDERS:
        rows = session.connection().execute(
            _BOOKINGS_ON_OF, {"day": day, "providers": list(providers)}
        )
    else:
        rows = session.connection().execute(_BOOKINGS_ON, {"day": day})
    bookings: dict[str, list[Booking]] = defaultdict(list)
    for provider_id, start, duration in rows:
        bookings[provider_id].append(booking_of(start, duration))
    return bookings


def open_on(
    session: Session, open_by_weekday: Mapping[str, Sequence[Window]], day: date
) -> dict[str, Sequence[Window]]:
    """The providers working on `day`, with that date's windows: those of `open_by_weekday`
    (their windows of `day`'s weekday) with the date's time off taken out, and those with
    extra hours that day (one statement for the day's changes, read live)."""
    changed = {pid: days[day] for pid, days in load_changes_on(session, day).items() if day in days}
    if not changed:
        return dict(open_by_weekday)
    windows: dict[str, Sequence[Window]] = dict(open_by_weekday)
    for pid, changes in changed.items():
        windows[pid] = windows_on(day, open_by_weekday.get(pid, ()), changes)
    return {pid: w for pid, w in windows.items() if w}


def load_changes_on(session: Session, day: date) -> dict[str, dict[date, DayChanges]]:
    """The time off and extra hours of every provider on `day` (by user id), one statement."""
    return load_changes(session, None, day, day)


def free_on(
    session: Session,
    open_that_day: Mapping[str, Sequence[Window]],
    day: date,
    now: datetime,
    zone: ZoneInfo,
) -> set[str]:
    """The providers of `open_that_day` (their windows of `day`, `open_on`) with a free slot for
    a visit of the default length on `day`, each in its day's zone: one statement for the day's
    bookings."""
    if not open_that_day:
        return set()
    bookings = bookings_on(session, day, open_that_day.keys())
    return providers_free_on(open_that_day, bookings, day, DEFAULT_DURATION_MINUTES, now, zone)


def has_seen(session: Session, patient_id: str, provider_id: str) -> bool:
    return (
        session.scalar(
            sa.select(Appointment.id)
            .where(
                Appointment.patient_id == patient_id,
                Appointment.provider_id == provider_id,
                Appointment.status.in_(SEEN_STATUSES),
            )
            .limit(1)
        )
        is not None
    )


def in_care_of(session: Session, provider_id: str, patient_id: str) -> bool:
    """Is the patient in the provider's care (a non-cancelled appointment with them)?"""
    their_patients = patients_in_care_of(provider_id).where(Appointment.patient_id == patient_id)
    return bool(session.scalar(sa.select(their_patients.exists())))


def patients_in_care_of(provider_id: str) -> sa.Select[str]:
    """The patients a provider has a (non-cancelled) appointment with: those in their care."""
    return sa.select(Appointment.patient_id).where(
        Appointment.provider_id == provider_id, live_bookings()
    )


def provider_name(first_name: str, last_name: str) -> str:
    """How a provider is named to patients."""
    return f"Dr. {first_name} {last_name}"


_NAME_OF_USER = sa.select(User.first_name, User.last_name).where(User.id == sa.bindparam("user"))


def name_of_provider(session: Session, provider_user_id: str) -> str:
    """The provider's name as patients read it (plain values, a statement built once)."""
    row = session.connection().execute(_NAME_OF_USER, {"user": provider_user_id}).one()
    return provider_name(row.first_name, row.last_name)

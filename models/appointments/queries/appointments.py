"""Reading appointments: one page of a listing, or one appointment, each with its provider.

The provider (user and profile) comes from the same joined query as the appointments, and the
total across pages from a window column of it, so a page costs one statement however many rows
it holds (two past the last page, which has no row to carry the total). A page is plain rows
(no ORM objects), each row's columns packed into one JSON array: the list only shapes them into
JSON.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Any, NamedTuple, Protocol, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session, load_only

from kernel.database import rowcount
from kernel.packed import Packed
from models.accounts.tables import User
from models.appointments.tables import Appointment
from models.providers.tables import ProviderProfile
from security.policy.appointments import AppointmentScope


@dataclass(frozen=True)
class AppointmentFilters:
    status: str | None = None
    start_date: date | None = None
    end_date: date | None = None
    provider_id: str | None = None
    # The staff's filters (a front desk's "today"): the location as the appointment states it,
    # and one patient.
    location: str | None = None
    patient_id: str | None = None


@dataclass(frozen=True)
class AppointmentWithProvider:
    appointment: Appointment
    provider: User
    profile: ProviderProfile | None


class AppointmentColumns(Protocol):
    """The appointment's own columns every wire shape reads: an `Appointment`, or a listed row."""

    @property
    def id(self) -> str: ...
    @property
    def patient_id(self) -> str: ...
    @property
    def provider_id(self) -> str: ...
    @property
    def date(self) -> date: ...
    @property
    def start_time(self) -> time: ...
    @property
    def type(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def reason(self) -> str: ...
    @property
    def notes(self) -> str | None: ...
    @property
    def is_virtual(self) -> bool: ...
    @property
    def time_zone(self) -> str | None: ...
    @property
    def location(self) -> str | None: ...
    @property
    def duration(self) -> int: ...
    @property
    def check_in_time(self) -> datetime | None: ...
    @property
    def check_out_time(self) -> datetime | None: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def updated_at(self) -> datetime: ...


class ListedAppointment(AppointmentColumns, Protocol):
    """One row of a listing: the appointment's columns, then its provider's (the profile's are
    None for a provider without one)."""

    @property
    def provider_first_name(self) -> str: ...
    @property
    def provider_last_name(self) -> str: ...
    @property
    def specialty(self) -> str | None: ...
    @property
    def npi(self) -> str | None: ...
    @property
    def photo_url(self) -> str | None: ...


# The tables, not the mapped classes: a page is plain columns, run on the session's
# connection, so no ORM result (entities, row processors) is built for it.
_APPOINTMENTS = cast(sa.Table, Appointment.__table__)
_USERS = cast(sa.Table, User.__table__)
_PROFILES = cast(sa.Table, ProviderProfile.__table__)

# Each filter as a condition on its bound parameter (named apart: a scope and a filter may
# compare the same column).
_FILTERS: dict[str, Callable[[Any], sa.ColumnElement[bool]]] = {
    "scope_patient": lambda value: _APPOINTMENTS.c.patient_id == value,
    "scope_provider": lambda value: _APPOINTMENTS.c.provider_id == value,
    "status": lambda value: _APPOINTMENTS.c.status == value,
    "start_date": lambda value: _APPOINTMENTS.c.date >= value,
    "end_date": lambda value: _APPOINTMENTS.c.date <= value,
    "provider_id": lambda value: _APPOINTMENTS.c.provider_id == value,
    "location": lambda value: _APPOINTMENTS.c.location == value,
    "patient_id": lambda value: _APPOINTMENTS.c.patient_id == value,
}


def _bound(scope: AppointmentScope, filters: AppointmentFilters) -> dict[str, Any]:
    """The values of the filters in use, by the name of their bound parameter."""
    values = {
        "scope_patient": scope.patient_id,
        "scope_provider": scope.provider_id,
        "status": filters.status,
        "start_date": filters.start_date,
        "end_date": filters.end_date,
        "provider_id": filters.provider_id,
        "location": filters.location,
        "patient_id": filters.patient_id,
    }
    return {name: value for name, value in values.items() if value is not None}


# Appointments with the provider columns their wire format shows (and no others: the MySQL
# driver's per-column cost is a large part of a list's time). Built once: building its loader
# options per request costs more than running it, for a statement that never changes.
_WITH_PROVIDER = (
    sa.select(Appointment, User, ProviderProfile)
    .join(User, User.id == Appointment.provider_id)
    .outerjoin(ProviderProfile, ProviderProfile.user_id == User.id)
    .options(
        load_only(User.first_name, User.last_name, User.phone, User.email, raiseload=True),
        load_only(
            ProviderProfile.specialty, ProviderProfile.npi, ProviderProfile.photo_url,
            ProviderProfile.title, ProviderProfile.phone, ProviderProfile.email,
            raiseload=True,
        ),
    )
)  # fmt: skip


class ListedRow(NamedTuple):
    """A `ListedAppointment` as a page returns it."""

    id: str
    patient_id: str
    provider_id: str
    date: date
    start_time: time
    type: str
    status: str
    reason: str
    notes: str | None
    is_virtual: bool
    time_zone: str | None
    location: str | None
    duration: int
    check_in_time: datetime | None
    check_out_time: datetime | None
    created_at: datetime
    updated_at: datetime
    provider_first_name: str
    provider_last_name: str
    specialty: str | None
    npi: str | None
    photo_url: str | None


# A page's columns, in `ListedRow`'s order, packed into one JSON array per row
# (`kernel.packed`): the MySQL driver parses every column of every row (and each column's
# description) in Python, and one text column with `json.loads` (C) costs a fraction of
# twenty-two. Their values come back as the columns' types return them (PHI decrypted by its own).
_PACKED_ROW = Packed(
    (
        *(_APPOINTMENTS.c[name] for name in ListedRow._fields[:17]),
        _USERS.c.first_name,
        _USERS.c.last_name,
        _PROFILES.c.specialty,
        _PROFILES.c.npi,
        _PROFILES.c.photo_url,
    )
)
_PACKED = (_PACKED_ROW.column, sa.func.count().over().label("total"))


@functools.cache
def _page_statements(used: frozenset[str]) -> tuple[sa.Executable, sa.Executable]:
    """The page and the count for one combination of filters, with bound parameters for their
    values and the page's bounds: built once per combination, so SQLAlchemy neither rebuilds
    them nor recomputes their cache keys per request."""
    conditions = [_FILTERS[name](sa.bindparam(name)) for name in sorted(used)]
    page = (
        sa.select(*_PACKED)
        .select_from(_APPOINTMENTS)
        .join(_USERS, _USERS.c.id == _APPOINTMENTS.c.provider_id)
        .outerjoin(_PROFILES, _PROFILES.c.user_id == _USERS.c.id)
        .where(*conditions)
        .order_by(_APPOINTMENTS.c.date, _APPOINTMENTS.c.start_time, _APPOINTMENTS.c.id)
        .limit(sa.bindparam("limit", type_=sa.Integer))
        .offset(sa.bindparam("offset", type_=sa.Integer))
    )
    count = sa.select(sa.func.count(_APPOINTMENTS.c.id)).where(*conditions)
    return page, count


def list_appointments(
    session: Session,
    scope: AppointmentScope,
    filters: AppointmentFilters,
    page: int,
    limit: int,
) -> tuple[list[ListedAppointment], int]:
    """One page, earliest first (date, then the TIME column, so 09:00 precedes 10:00), and
    the total across pages."""
    values = _bound(scope, filters)
    page_statement, count_statement = _page_statements(frozenset(values))
    connection = session.connection()
    rows = connection.execute(
        page_statement, {**values, "limit": limit, "offset": (page - 1) * limit}
    ).all()
    if rows:
        total = int(rows[0].total)
    elif page == 1:
        total = 0
    else:  # past the last page: no row carries the total
        total = int(connection.execute(count_statement, values).scalar_one())
    dialect = connection.dialect
    return [ListedRow._make(_PACKED_ROW.unpack(row.packed, dialect)) for row in rows], total


# One appointment with its provider, its id a bind parameter: built once, not per request.
_ONE_WITH_PROVIDER = _WITH_PROVIDER.where(_APPOINTMENTS.c.id == sa.bindparam("id"))


def get_appointment(session: Session, appointment_id: str) -> AppointmentWithProvider | None:
    """The appointment and its provider as ORM objects (the invitation reads the entity)."""
    row = session.execute(_ONE_WITH_PROVIDER, {"id": appointment_id}).first()
    return None if row is None else AppointmentWithProvider(*row)


class AppointmentDetail(NamedTuple):
    """One appointment as its detail shows it: a listed row's appointment columns, the few more
    the detail shows, and its provider's contact (the profile's columns None without one)."""

    id: str
    patient_id: str
    provider_id: str
    date: date
    start_time: time
    type: str
    status: str
    reason: str
    notes: str | None
    is_virtual: bool
    time_zone: str | None
    location: str | None
    duration: int
    check_in_time: datetime | None
    check_out_time: datetime | None
    created_at: datetime
    updated_at: datetime
    virtual_meeting_url: str | None
    cancellation_reason: str | None
    cancelled_at: datetime | None
    provider_first_name: str
    provider_last_name: str
    provider_phone: str | None
    provider_email: str
    specialty: str | None
    title: str | None
    npi: str | None
    photo_url: str | None
    profile_phone: str | None
    profile_email: str | None


# The detail's columns, in `AppointmentDetail`'s order, packed into one JSON array
# (`kernel.packed`), as a page's rows are: one row of ORM entities (three of them, with their
# loader options) costs several times what the statement does.
_PACKED_DETAIL = Packed(
    (
        *(_APPOINTMENTS.c[name] for name in AppointmentDetail._fields[:20]),
        _USERS.c.first_name,
        _USERS.c.last_name,
        _USERS.c.phone,
        _USERS.c.email,
        *(
            _PROFILES.c[name]
            for name in ("specialty", "title", "npi", "photo_url", "phone", "email")
        ),
    )
)
_DETAIL = (
    sa.select(_PACKED_DETAIL.column)
    .select_from(_APPOINTMENTS)
    .join(_USERS, _USERS.c.id == _APPOINTMENTS.c.provider_id)
    .outerjoin(_PROFILES, _PROFILES.c.user_id == _USERS.c.id)
    .where(_APPOINTMENTS.c.id == sa.bindparam("id"))
)


def appointment_detail(session: Session, appointment_id: str) -> AppointmentDetail | None:
    """The appointment as its detail shows it, or None when there is no such appointment."""
    values = _PACKED_DETAIL.one(session.connection(), _DETAIL, {"id": appointment_id})
    return None if values is None else AppointmentDetail._make(values)


# A new appointment's row: every column but the computed one, from the attributes of the same
# names. Built once; run on the session's connection, so no unit of work is set up for it.
_WRITTEN_COLUMNS = tuple(column.key for column in _APPOINTMENTS.columns if column.computed is None)
_INSERT_APPOINTMENT = sa.insert(_APPOINTMENTS)


def insert_appointment(session: Session, appointment: Appointment) -> None:
    """Write a new appointment's row now, in the session's transaction, with the values its
    attributes hold (all of them set: the column defaults are not applied). `appointment`
    itself is not added to the session. Raises IntegrityError as a flush would."""
    values = {key: getattr(appointment, key) for key in _WRITTEN_COLUMNS}
    session.connection().execute(_INSERT_APPOINTMENT, values)


# An appointment's row as a change (reschedule, cancel) reads it: every written column, as plain
# values, with its provider's name; and the row alone, locked, read again when it changed between
# that read and the change's conditional UPDATE. Each packed into one JSON array
# (`kernel.packed`): one column description for the MySQL driver to parse instead of one per
# column, as many as the row has. Built once.
_CHANGE_COLUMNS = tuple(c for c in _APPOINTMENTS.columns if c.computed is None)
_CHANGE_ROW = Packed((*_CHANGE_COLUMNS, _USERS.c.first_name, _USERS.c.last_name))
_FOR_CHANGE = (
    sa.select(_CHANGE_ROW.column)
    .join_from(_APPOINTMENTS, _USERS, _USERS.c.id == _APPOINTMENTS.c.provider_id)
    .where(_APPOINTMENTS.c.id == sa.bindparam("id"))
)
_LOCKED_ROW = Packed(_CHANGE_COLUMNS)
_LOCKED_FOR_CHANGE = (
    sa.select(_LOCKED_ROW.column)
    .select_from(_APPOINTMENTS)
    .where(_APPOINTMENTS.c.id == sa.bindparam("id"))
    .with_for_update()
)
# A change's values, written only while the row still has the status and calendar sequence the
# change was judged from (every change of date, time or status moves one or the other).
_CHANGE = sa.update(_APPOINTMENTS).where(
    _APPOINTMENTS.c.id == sa.bindparam("seen_id"),
    _APPOINTMENTS.c.status == sa.bindparam("seen_status"),
    _APPOINTMENTS.c.calendar_sequence == sa.bindparam("seen_sequence"),
)


@dataclass(frozen=True)
class ForChange:
    """An appointment as a change reads it (a transient `Appointment`, not in the session) and
    its provider's first and last name."""

    appointment: Appointment
    provider_first_name: str
    provider_last_name: str


def _transient(values: list[Any]) -> Appointment:
    """A transient `Appointment` from `_CHANGE_COLUMNS`' values, in their order (and any after)."""
    return Appointment(
        **dict(zip((column.key for column in _CHANGE_COLUMNS), values, strict=False))
    )


def for_change(session: Session, appointment_id: str) -> ForChange | None:
    """The appointment with its provider's name, or None when there is no such appointment:
    one statement, on the session's connection, no lock."""
    values = _CHANGE_ROW.one(session.connection(), _FOR_CHANGE, {"id": appointment_id})
    return None if values is None else ForChange(_transient(values), values[-2], values[-1])


def locked_for_change(session: Session, appointment_id: str) -> Appointment | None:
    """The appointment's row as it is now, locked until the transaction ends (SQLite: the write
    transaction already holds the database's write lock)."""
    values = _LOCKED_ROW.one(session.connection(), _LOCKED_FOR_CHANGE, {"id": appointment_id})
    return None if values is None else _transient(values)


def apply_change(session: Session, seen: Appointment, values: dict[str, Any]) -> bool:
    """Write `values` to the appointment if its row still has `seen`'s status and calendar
    sequence; False when another change got there first (or the row is gone). On MariaDB the
    UPDATE waits for a concurrent change's row lock and then re-reads the row; a match holds the
    row's lock until the transaction ends. Raises IntegrityError as a flush would."""
    where = {
        "seen_id": seen.id,
        "seen_status": seen.status,
        "seen_sequence": seen.calendar_sequence,
    }
    result = session.connection().execute(_CHANGE, {**values, **where})
    return rowcount(result) == 1


def email_of(session: Session, user_id: str) -> str:
    """The address a user's messages and invitations go to."""
    return str(session.scalar(sa.select(_USERS.c.email).where(_USERS.c.id == user_id)))

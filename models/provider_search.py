"""Provider search: the filters, the queries behind them, and one page of provider cards.

The number of statements per search is fixed (six) whatever the number of providers: filters
are SQL conditions; the `date` filter loads that weekday's windows and that day's bookings of
every candidate in two statements and applies the slot rule in memory; `nextAvailableDate` is
computed for the page's providers only (see `models.availability.next_available_dates`).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models.appointments import Appointment
from models.availability import (
    as_text,
    booking_of,
    live_bookings,
    next_available_dates,
    window_of,
)
from models.providers import (
    InsurancePlan,
    ProviderAvailability,
    ProviderLocation,
    ProviderProfile,
    provider_insurance_plans,
)
from models.scheduling import (
    DEFAULT_DURATION_MINUTES,
    WEEKDAY_NAMES,
    Booking,
    Window,
    has_free_slot,
)
from models.users import User

# Shortest location term also looked for inside street addresses: a two-letter state code
# ("ME") must not match every address that merely contains those letters ("Memorial Dr").
MIN_ADDRESS_TERM = 3

# Results are listed alphabetically; the id breaks ties so pages never overlap.
ORDER = (User.last_name, User.first_name, User.id)


def _term(text: str | None) -> str | None:
    """A filter term as compared: trimmed, inner whitespace collapsed, lowercase; blank is none."""
    cleaned = " ".join((text or "").split()).lower()
    return cleaned or None


@dataclass(frozen=True)
class SearchFilters:
    """The search body's filters; all optional, combined with AND."""

    specialty: str | None = None
    location: str | None = None
    day: date | None = None
    insurance: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "location", _term(self.location))
        object.__setattr__(self, "insurance", _term(self.insurance))


@dataclass(frozen=True)
class ProviderCard:
    """Everything a search result shows about one provider."""

    user_id: str
    first_name: str
    last_name: str
    profile: ProviderProfile
    location: ProviderLocation | None
    next_available: date | None


@dataclass(frozen=True)
class SearchPage:
    total: int
    providers: list[ProviderCard]


def _location_matches(term: str) -> sa.ColumnElement[bool]:
    """Any of the provider's locations has this city, state code or ZIP code, or a street
    address containing the term (case-insensitive; LIKE wildcards in the term are literal)."""
    location = ProviderLocation
    same = [
        sa.func.lower(location.city) == term,
        sa.func.lower(location.state) == term,
        sa.func.lower(location.zip_code) == term,
    ]
    if len(term) >= MIN_ADDRESS_TERM:
        same.append(sa.func.lower(location.address).contains(term, autoescape=True))
    return sa.exists().where(location.provider_id == ProviderProfile.id, sa.or_(*same))


def _accepts(plan_key: str) -> sa.ColumnElement[bool]:
    plans = provider_insurance_plans
    return sa.exists().where(
        plans.c.provider_id == ProviderProfile.id,
        plans.c.insurance_plan_id == InsurancePlan.id,
        InsurancePlan.name_key == plan_key,
    )


def _conditions(filters: SearchFilters) -> list[sa.ColumnElement[bool]]:
    """The SQL part of the filters (everything except "a free slot on `date`")."""
    conditions: list[sa.ColumnElement[bool]] = [User.is_active.is_(True)]
    if filters.specialty:
        conditions.append(ProviderProfile.specialty == filters.specialty)
    if filters.location:
        conditions.append(_location_matches(filters.location))
    if filters.insurance:
        conditions.append(_accepts(filters.insurance))
    return conditions


def _providers(*columns: sa.ColumnElement[object]) -> sa.Select[tuple[object, ...]]:
    return sa.select(*columns).join(ProviderProfile, ProviderProfile.user_id == User.id)


def _free_on(
    session: Session,
    conditions: list[sa.ColumnElement[bool]],
    day: date,
    now: datetime,
    zone: ZoneInfo,
) -> list[str]:
    """Ids, in result order, of the matching providers with a free slot on `day`."""
    windows: dict[str, list[Window]] = defaultdict(list)
    for user_id, start, end in session.execute(
        _providers(
            User.id,
            as_text(ProviderAvailability.start_time),
            as_text(ProviderAvailability.end_time),
        )
        .join(ProviderAvailability, ProviderAvailability.provider_id == ProviderProfile.id)
        .where(
            *conditions,
            ProviderAvailability.day_of_week == WEEKDAY_NAMES[day.weekday()],
            ProviderAvailability.is_active.is_(True),
        )
        .order_by(*ORDER)
    ):
        windows[user_id].append(window_of(start, end))
    bookings: dict[str, list[Booking]] = defaultdict(list)
    for provider_id, start, duration in session.execute(
        sa.select(
            Appointment.provider_id, as_text(Appointment.start_time), Appointment.duration
        ).where(
            Appointment.date == day,
            live_bookings(),
            Appointment.provider_id.in_(_providers(User.id).where(*conditions)),
        )
    ):
        bookings[provider_id].append(booking_of(start, duration))
    return [
        user_id
        for user_id, own in windows.items()
        if has_free_slot(own, bookings[user_id], day, DEFAULT_DURATION_MINUTES, now, zone)
    ]


def _cards(session: Session, ids: list[str], now: datetime, zone: ZoneInfo) -> list[ProviderCard]:
    """The cards of `ids`, in that order: profiles, primary locations, next free days."""
    if not ids:
        return []
    rows = {
        row.id: row
        for row in session.execute(
            _providers(User.id, User.first_name, User.last_name, ProviderProfile).where(
                User.id.in_(ids)
            )
        )
    }
    locations: dict[str, ProviderLocation] = {}
    for user_id, location in session.execute(
        sa.select(ProviderProfile.user_id, ProviderLocation)
        .join(ProviderLocation, ProviderLocation.provider_id == ProviderProfile.id)
        .where(ProviderProfile.user_id.in_(ids))
        # the primary location first; otherwise the oldest
        .order_by(ProviderLocation.is_primary.desc(), ProviderLocation.created_at)
    ):
        locations.setdefault(user_id, location)
    next_days = next_available_dates(session, ids, now, zone)
    return [
        ProviderCard(
            user_id=uid,
            first_name=rows[uid].first_name,
            last_name=rows[uid].last_name,
            profile=rows[uid].ProviderProfile,
            location=locations.get(uid),
            next_available=next_days[uid],
        )
        for uid in ids
    ]


def search_providers(
    session: Session,
    filters: SearchFilters,
    *,
    page: int,
    limit: int,
    now: datetime,
    zone: ZoneInfo,
) -> SearchPage:
    """One page of the providers matching every filter, and how many match in all."""
    conditions = _conditions(filters)
    offset = (page - 1) * limit
    if filters.day is None:
        total = session.scalar(_providers(sa.func.count(User.id)).where(*conditions)) or 0
        ids = list(
            session.scalars(
                _providers(User.id).where(*conditions).order_by(*ORDER).limit(limit).offset(offset)
            )
        )
    else:
        matching = _free_on(session, conditions, filters.day, now, zone)
        total, ids = len(matching), matching[offset : offset + limit]
    return SearchPage(total, _cards(session, ids, now, zone))

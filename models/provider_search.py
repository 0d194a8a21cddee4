"""Provider search: the filters, the queries behind them, and one page of provider cards.

Who is listed, in what order, and their weekly windows come from the search directory, a
snapshot at most SEARCH_DIRECTORY_TTL_SECONDS old (`models.search_directory`); the filters and
the bookings are read from the database on every search. The number of statements per search is
bounded whatever the number of providers: the snapshot (two, once per TTL), the filters (one,
when any of specialty, location, insurance is given), the `date` filter's bookings of that day
(one), the page's profiles with their shown locations (one), and `nextAvailableDate`'s bookings
(one or two, see `models.availability.next_available_dates`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from models.appointments import Appointment
from models.availability import as_text, booking_of, live_bookings, next_available_dates
from models.providers import (
    InsurancePlan,
    ProviderLocation,
    ProviderProfile,
    provider_insurance_plans,
)
from models.scheduling import (
    DEFAULT_DURATION_MINUTES,
    WEEKDAY_NAMES,
    Booking,
    providers_free_on,
)
from models.search_directory import DirectorySnapshot, SearchDirectory
from models.users import User

# Shortest location term also looked for inside street addresses: a two-letter state code
# ("ME") must not match every address that merely contains those letters ("Memorial Dr").
MIN_ADDRESS_TERM = 3
# Up to this many providers, naming them in the query for a day's bookings costs less than
# reading the bookings of every provider that day: each named id costs an index lookup (about
# 3 ms for 50, 6 ms for 100), a whole day at 2,000 providers and 50,000 appointments about 8 ms.
FEW_PROVIDERS = 100


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


# The profile columns a card shows, read as plain values (loading whole ORM objects, with the
# columns no card shows, cost a search at 2,000 providers about 1.5 ms).
CARD_PROFILE_COLUMNS = (
    ProviderProfile.title,
    ProviderProfile.specialty,
    ProviderProfile.specialties,
    ProviderProfile.npi,
    ProviderProfile.photo_url,
    ProviderProfile.bio,
    ProviderProfile.languages,
    ProviderProfile.years_of_experience,
    ProviderProfile.education,
    ProviderProfile.certifications,
    ProviderProfile.accepting_new_patients,
    ProviderProfile.rating,
    ProviderProfile.review_count,
    ProviderProfile.phone,
    ProviderProfile.email,
)


@dataclass(frozen=True)
class CardLocation:
    address: str
    city: str
    state: str
    zip_code: str


@dataclass(frozen=True)
class ProviderCard:
    """Everything a search result shows about one provider."""

    user_id: str
    first_name: str
    last_name: str
    profile: sa.Row[Any]  # CARD_PROFILE_COLUMNS, by their names
    location: CardLocation | None
    next_available: date | None


@dataclass(frozen=True)
class SearchPage:
    total: int
    providers: list[ProviderCard]


def _location_matches(term: str) -> sa.ColumnElement[bool]:
    """The location has this city, state code or ZIP code, or a street address containing the
    term (case-insensitive; LIKE wildcards in the term are literal)."""
    location = ProviderLocation
    same = [
        sa.func.lower(location.city) == term,
        sa.func.lower(location.state) == term,
        sa.func.lower(location.zip_code) == term,
    ]
    if len(term) >= MIN_ADDRESS_TERM:
        same.append(sa.func.lower(location.address).contains(term, autoescape=True))
    return sa.or_(*same)


def _matching(session: Session, filters: SearchFilters) -> set[str] | None:
    """User ids of the providers passing the SQL filters (specialty, location, insurance);
    None when none of them is given.

    Joins rather than EXISTS: the database then starts from the few matching locations or
    plans instead of testing every provider (a provider with several matching locations comes
    back once per location; the set keeps one)."""
    if not (filters.specialty or filters.location or filters.insurance):
        return None
    query = sa.select(ProviderProfile.user_id)
    if filters.specialty:
        query = query.where(ProviderProfile.specialty == filters.specialty)
    if filters.location:
        query = query.join(
            ProviderLocation, ProviderLocation.provider_id == ProviderProfile.id
        ).where(_location_matches(filters.location))
    if filters.insurance:
        plans = provider_insurance_plans
        query = (
            query.join(plans, plans.c.provider_id == ProviderProfile.id)
            .join(InsurancePlan, InsurancePlan.id == plans.c.insurance_plan_id)
            .where(InsurancePlan.name_key == filters.insurance)
        )
    return set(session.scalars(query))


def _bookings_on(
    session: Session, day: date, providers: Collection[str]
) -> dict[str, list[Booking]]:
    """The live bookings of `providers` on `day`, in one statement; beyond FEW_PROVIDERS,
    those of every provider that day."""
    query = sa.select(
        Appointment.provider_id, as_text(Appointment.start_time), Appointment.duration
    ).where(Appointment.date == day, live_bookings())
    if len(providers) <= FEW_PROVIDERS:
        query = query.where(Appointment.provider_id.in_(list(providers)))
    bookings: dict[str, list[Booking]] = defaultdict(list)
    for provider_id, start, duration in session.execute(query):
        bookings[provider_id].append(booking_of(start, duration))
    return bookings


def _free_on(
    session: Session,
    directory: SearchDirectory,
    candidates: set[str] | None,
    day: date,
    now: datetime,
    zone: ZoneInfo,
) -> set[str]:
    """The candidates (None: every listed provider) with a free slot on `day`."""
    open_that_day = directory.open_on(WEEKDAY_NAMES[day.weekday()])
    if candidates is not None:
        open_that_day = {uid: w for uid, w in open_that_day.items() if uid in candidates}
    if not open_that_day:
        return set()
    bookings = _bookings_on(session, day, open_that_day.keys())
    return providers_free_on(open_that_day, bookings, day, DEFAULT_DURATION_MINUTES, now, zone)


def _location_of(row: sa.Row[Any]) -> CardLocation | None:
    if row.address is None:  # no location (the column itself is NOT NULL)
        return None
    return CardLocation(row.address, row.city, row.state, row.zip_code)


def _cards(
    session: Session,
    directory: SearchDirectory,
    ids: Sequence[str],
    now: datetime,
    zone: ZoneInfo,
) -> list[ProviderCard]:
    """The cards of `ids`, in that order: profiles, primary locations, next free days."""
    if not ids:
        return []
    # the primary location first; otherwise the oldest
    other = aliased(ProviderLocation)
    shown_location = (
        sa.select(other.id)
        .where(other.provider_id == ProviderProfile.id)
        .order_by(other.is_primary.desc(), other.created_at)
        .limit(1)
        .correlate(ProviderProfile)
        .scalar_subquery()
    )
    shown = (
        ProviderLocation.address,
        ProviderLocation.city,
        ProviderLocation.state,
        ProviderLocation.zip_code,
    )
    rows = {
        row.id: row
        for row in session.execute(
            sa.select(User.id, User.first_name, User.last_name, *CARD_PROFILE_COLUMNS, *shown)
            .join(ProviderProfile, ProviderProfile.user_id == User.id)
            .outerjoin(
                ProviderLocation,
                sa.and_(
                    ProviderLocation.provider_id == ProviderProfile.id,
                    ProviderLocation.id == shown_location,
                ),
            )
            .where(User.id.in_(ids))
        )
    }
    next_days = next_available_dates(
        session, {uid: directory.weekly(uid) for uid in ids}, now, zone
    )
    return [
        ProviderCard(
            user_id=uid,
            first_name=rows[uid].first_name,
            last_name=rows[uid].last_name,
            profile=rows[uid],
            location=_location_of(rows[uid]),
            next_available=next_days[uid],
        )
        for uid in ids
        if uid in rows  # a provider removed since the snapshot was read is left out
    ]


def search_providers(
    session: Session,
    directory: DirectorySnapshot,
    filters: SearchFilters,
    *,
    page: int,
    limit: int,
    now: datetime,
    zone: ZoneInfo,
) -> SearchPage:
    """One page of the providers matching every filter, and how many match in all."""
    listed = directory.current(session)
    candidates = _matching(session, filters)
    if filters.day is not None:
        candidates = _free_on(session, listed, candidates, filters.day, now, zone)
    matching: Sequence[str] = (
        listed.in_order
        if candidates is None
        else [uid for uid in listed.in_order if uid in candidates]
    )
    offset = (page - 1) * limit
    page_ids = matching[offset : offset + limit]
    return SearchPage(len(matching), _cards(session, listed, page_ids, now, zone))

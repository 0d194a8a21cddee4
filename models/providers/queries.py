"""Reading the provider directory: which providers pass search's filters, what their cards
show, and where they practise."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import NamedTuple

import sqlalchemy as sa
from sqlalchemy.orm import Session, aliased

from kernel.packed import Packed
from models.accounts.tables import User
from models.providers.rules import address_line, search_term
from models.providers.tables import (
    InsurancePlan,
    ProviderLocation,
    ProviderProfile,
    provider_insurance_plans,
)

# Shortest location term also looked for inside street addresses: a two-letter state code
# ("ME") must not match every address that merely contains those letters ("Memorial Dr").
MIN_ADDRESS_TERM = 3


@dataclass(frozen=True)
class SearchFilters:
    """The search body's filters; all optional, combined with AND."""

    specialty: str | None = None
    location: str | None = None
    day: date | None = None
    insurance: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "location", search_term(self.location))
        object.__setattr__(self, "insurance", search_term(self.insurance))


# The profile columns a card shows, read as plain values (`CardProfile`, in its order): whole ORM
# objects, with the columns no card shows, cost a search measurably more (docs/performance.md).
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


class CardProfile(NamedTuple):
    """The profile columns a card shows (`CARD_PROFILE_COLUMNS`), by their names."""

    title: str | None
    specialty: str
    specialties: list[str] | None
    npi: str | None
    photo_url: str | None
    bio: str | None
    languages: list[str] | None
    years_of_experience: int | None
    education: str | None
    certifications: list[str] | None
    accepting_new_patients: bool
    rating: Decimal | None
    review_count: int | None
    phone: str | None
    email: str | None


@dataclass(frozen=True)
class CardLocation:
    address: str
    city: str
    state: str
    zip_code: str
    time_zone: str | None = None


@dataclass(frozen=True)
class CardRow:
    """A provider's name, the profile columns a card shows and its shown location."""

    user_id: str
    first_name: str
    last_name: str
    profile: CardProfile
    location: CardLocation | None


# Escapes LIKE's wildcards (and itself) in a term looked for inside street addresses.
LIKE_ESCAPE = "/"


def _location_matches(with_address: bool) -> sa.ColumnElement[bool]:
    """The location has the city, state code or ZIP code bound as `location` (a search term:
    lowercase), or, `with_address`, a street address like the bound `address_pattern`
    (case-insensitive; `address_pattern()` makes it from the term)."""
    location = ProviderLocation
    term = sa.bindparam("location", type_=sa.String)
    same = [
        sa.func.lower(location.city) == term,
        sa.func.lower(location.state) == term,
        sa.func.lower(location.zip_code) == term,
    ]
    if with_address:
        pattern = sa.bindparam("address_pattern", type_=sa.String)
        same.append(sa.func.lower(location.address).like(pattern, escape=LIKE_ESCAPE))
    return sa.or_(*same)


def address_pattern(term: str) -> str:
    """The LIKE pattern of addresses containing `term`, its wildcards taken literally."""
    escaped = (
        term.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2)
        .replace("%", LIKE_ESCAPE + "%")
        .replace("_", LIKE_ESCAPE + "_")
    )
    return f"%{escaped}%"


@functools.cache
def _matching_statement(
    specialty: bool, location: bool, address: bool, insurance: bool
) -> sa.Select[str]:
    """The filters' statement for one combination of given filters, built once, its values bound
    (`specialty`, `location`, `address_pattern`, `insurance`).

    Joins rather than EXISTS: the database then starts from the few matching locations or
    plans instead of testing every provider (a provider with several matching locations comes
    back once per location; the caller's set keeps one)."""
    query = sa.select(ProviderProfile.user_id)
    if specialty:
        query = query.where(ProviderProfile.specialty == sa.bindparam("specialty"))
    if location:
        query = query.join(
            ProviderLocation, ProviderLocation.provider_id == ProviderProfile.id
        ).where(_location_matches(address))
    if insurance:
        plans = provider_insurance_plans
        query = (
            query.join(plans, plans.c.provider_id == ProviderProfile.id)
            .join(InsurancePlan, InsurancePlan.id == plans.c.insurance_plan_id)
            .where(InsurancePlan.name_key == sa.bindparam("insurance"))
        )
    return query


def matching(session: Session, filters: SearchFilters) -> set[str] | None:
    """User ids of the providers passing the SQL filters (specialty, location, insurance);
    None when none of them is given. A location term of MIN_ADDRESS_TERM characters or more is
    also looked for inside street addresses."""
    if not (filters.specialty or filters.location or filters.insurance):
        return None
    address = bool(filters.location and len(filters.location) >= MIN_ADDRESS_TERM)
    query = _matching_statement(
        bool(filters.specialty), bool(filters.location), address, bool(filters.insurance)
    )
    values = {
        name: value
        for name, value in (
            ("specialty", filters.specialty),
            ("location", filters.location),
            ("insurance", filters.insurance),
        )
        if value
    }
    if address:
        values["address_pattern"] = address_pattern(filters.location or "")
    return set(session.connection().execute(query, values).scalars())


# The card rows of a page of providers (the bound list `ids` of user ids), each with its shown
# location: the primary one first, otherwise the oldest. Built once (SQLAlchemy then neither
# rebuilds it nor recomputes its cache key per search) and run on the session's connection
# (plain rows, no ORM result). Each row's columns come packed into one JSON array
# (`kernel.packed`): the MySQL driver parses every column of every row, and each column's
# description, in Python.
_SHOWN = aliased(ProviderLocation)
_SHOWN_LOCATION = (
    sa.select(_SHOWN.id)
    .where(_SHOWN.provider_id == ProviderProfile.id)
    .order_by(_SHOWN.is_primary.desc(), _SHOWN.created_at)
    .limit(1)
    .correlate(ProviderProfile)
    .scalar_subquery()
)
_CARD = Packed(
    (
        User.id,
        User.first_name,
        User.last_name,
        *CARD_PROFILE_COLUMNS,
        ProviderLocation.address,
        ProviderLocation.city,
        ProviderLocation.state,
        ProviderLocation.zip_code,
        ProviderLocation.time_zone,
    )
)
_PROFILE_AT = slice(3, 3 + len(CARD_PROFILE_COLUMNS))
_CARD_ROWS = (
    sa.select(_CARD.column)
    .select_from(User)
    .join(ProviderProfile, ProviderProfile.user_id == User.id)
    .outerjoin(
        ProviderLocation,
        sa.and_(
            ProviderLocation.provider_id == ProviderProfile.id,
            ProviderLocation.id == _SHOWN_LOCATION,
        ),
    )
    .where(User.id.in_(sa.bindparam("ids", expanding=True)))
)


def card_rows(session: Session, ids: Sequence[str]) -> dict[str, CardRow]:
    """The card rows of the providers `ids` (user ids), by id, in one statement."""
    if not ids:
        return {}
    connection = session.connection()
    cards: dict[str, CardRow] = {}
    for row in connection.execute(_CARD_ROWS, {"ids": list(ids)}):
        values = _CARD.unpack(row.packed, connection.dialect)
        user_id, first_name, last_name = values[:3]
        address = values[_PROFILE_AT.stop :]
        location = None if address[0] is None else CardLocation(*address)  # the column is NOT NULL
        profile = CardProfile(*values[_PROFILE_AT])
        cards[user_id] = CardRow(user_id, first_name, last_name, profile, location)
    return cards


# A location's address columns, as plain values: its one line is all a visit needs of it.
_ADDRESS = (
    ProviderLocation.address,
    ProviderLocation.city,
    ProviderLocation.state,
    ProviderLocation.zip_code,
)
# Built once, with bound parameters.
_PRIMARY_ADDRESS = (
    sa.select(*_ADDRESS)
    .where(
        ProviderLocation.provider_id == sa.bindparam("profile"),
        ProviderLocation.is_primary.is_(True),
    )
    .limit(1)
)
_ADDRESS_OF = sa.select(*_ADDRESS).where(ProviderLocation.id == sa.bindparam("location"))


def primary_location(session: Session, profile_id: str) -> str | None:
    """The provider's primary address on one line, or None when none is marked primary."""
    row = session.connection().execute(_PRIMARY_ADDRESS, {"profile": profile_id}).first()
    return None if row is None else address_line(*row)


def location_line(session: Session, location_id: str) -> str | None:
    """A location's address on one line, or None when there is no such location."""
    row = session.connection().execute(_ADDRESS_OF, {"location": location_id}).first()
    return None if row is None else address_line(*row)

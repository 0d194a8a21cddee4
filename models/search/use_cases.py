"""Provider search: one page of the providers matching every filter, and how many match.

Who is listed, in what order, and their weekly windows come from the search directory, a
snapshot at most SEARCH_DIRECTORY_TTL_SECONDS old (`models.search.queries`); the filters and the
bookings are read from the database on every search. The number of statements per search is
bounded whatever the number of providers: the snapshot (two, once per TTL), the filters (one,
when any of specialty, location, insurance is given), the `date` filter's bookings of that day
(one), that day's time off and extra hours (one), the page's profiles with their shown
locations (one), and `nextAvailableDate`'s time off and extra hours with its first two weeks'
bookings (one) and, for the providers with no free day in them, the later bookings (one; see
`models.appointments.queries.availability.next_available_dates`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session

from kernel.clock import Clock
from kernel.database import reads
from models.appointments.queries.availability import free_on, next_available_dates, open_on
from models.appointments.rules.slots import WEEKDAY_NAMES
from models.providers.queries import CardRow, SearchFilters, card_rows, matching
from models.search.queries import DirectorySnapshot


@dataclass(frozen=True)
class ProviderCard:
    """Everything a search result shows about one provider."""

    row: CardRow
    next_available: date | None


@dataclass(frozen=True)
class SearchPage:
    total: int
    providers: list[ProviderCard]


@reads
def search_providers(
    session: Session,
    directory: DirectorySnapshot,
    filters: SearchFilters,
    *,
    page: int,
    limit: int,
    clock: Clock,
) -> SearchPage:
    """One page of the providers matching every filter, and how many match in all."""
    listed = directory.current(session)
    candidates = matching(session, filters)
    if filters.day is not None:
        open_that_day = open_on(
            session, listed.open_on(WEEKDAY_NAMES[filters.day.weekday()]), filters.day
        )
        if candidates is not None:
            open_that_day = {uid: w for uid, w in open_that_day.items() if uid in candidates}
        candidates = free_on(session, open_that_day, filters.day, clock.now, clock.zone)
    found: Sequence[str] = (
        listed.in_order
        if candidates is None
        else [uid for uid in listed.in_order if uid in candidates]
    )
    offset = (page - 1) * limit
    page_ids = found[offset : offset + limit]
    rows = card_rows(session, page_ids)
    next_days = next_available_dates(
        session, {uid: listed.weekly(uid) for uid in page_ids}, clock.now, clock.zone
    )
    cards = [
        ProviderCard(rows[uid], next_days[uid])
        for uid in page_ids
        if uid in rows  # a provider removed since the snapshot was read is left out
    ]
    return SearchPage(len(found), cards)

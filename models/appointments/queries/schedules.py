"""Reading a provider's schedule: the weekly windows with their locations' zones, and the time
off and extra hours of a span of dates, as the rules' plain values (`rules.schedules`).

Providers are named by their user id, as in `queries.availability`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from datetime import date, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models.appointments.rules.schedules import DayChanges, TimeOff
from models.appointments.rules.slots import Window
from models.appointments.tables import ProviderExtraHours, ProviderTimeOff
from models.providers.tables import ProviderLocation, ProviderProfile

ChangesByDay = dict[date, DayChanges]


def window_at(start: time, end: time, location_id: str | None, zone: str | None) -> Window:
    """A window from its row's values."""
    return Window(start, end, location_id or "", zone or "")


def _changes_selects(
    first: Any, last: Any, provider: sa.ColumnElement[bool] | None, *more: sa.ColumnElement[Any]
) -> tuple[sa.Select[Any], sa.Select[Any]]:
    """Time off overlapping [first, last] and extra hours inside it, as two selects of (user id,
    is_extra, start date, end date, start time, end time, location id, zone, then `more`); the
    dates are values or bound parameters."""
    off = (
        sa.select(
            ProviderProfile.user_id,
            sa.literal(False).label("is_extra"),
            ProviderTimeOff.start_date,
            ProviderTimeOff.end_date,
            ProviderTimeOff.start_time,
            ProviderTimeOff.end_time,
            # typed NULLs, so that a statement may pack these columns (`kernel.packed`)
            sa.type_coerce(sa.null(), sa.String).label("location_id"),
            sa.type_coerce(sa.null(), sa.String).label("time_zone"),
            *more,
        )
        .join(ProviderProfile, ProviderProfile.id == ProviderTimeOff.provider_id)
        .where(ProviderTimeOff.end_date >= first, ProviderTimeOff.start_date <= last)
    )
    extra = (
        sa.select(
            ProviderProfile.user_id,
            sa.literal(True).label("is_extra"),
            ProviderExtraHours.date,
            ProviderExtraHours.date,
            ProviderExtraHours.start_time,
            ProviderExtraHours.end_time,
            ProviderExtraHours.location_id,
            ProviderLocation.time_zone,
            *more,
        )
        .join(ProviderProfile, ProviderProfile.id == ProviderExtraHours.provider_id)
        .outerjoin(ProviderLocation, ProviderLocation.id == ProviderExtraHours.location_id)
        .where(ProviderExtraHours.date.between(first, last))
    )
    if provider is not None:
        off, extra = off.where(provider), extra.where(provider)
    return off, extra


def _changes_statement(
    first: Any, last: Any, provider: sa.ColumnElement[bool] | None
) -> sa.CompoundSelect[Any]:
    """`_changes_selects` as one UNION ALL."""
    return sa.union_all(*_changes_selects(first, last, provider))


# A span of dates (`first`, `last`), for the bound providers (`providers`, user ids) or for
# all of them: built once, with bound parameters.
_FIRST, _LAST = sa.bindparam("first", type_=sa.Date), sa.bindparam("last", type_=sa.Date)
_CHANGES_OF_PROVIDERS = _changes_statement(
    _FIRST, _LAST, ProviderProfile.user_id.in_(sa.bindparam("providers", expanding=True))
)
_CHANGES_OF_ALL = _changes_statement(_FIRST, _LAST, None)


def load_changes(
    session: Session, provider_user_ids: Collection[str] | None, first: date, last: date
) -> dict[str, ChangesByDay]:
    """Each provider's time off and extra hours from `first` to `last` (inclusive), by date, in
    one statement (none when `provider_user_ids` is empty; None: every provider's)."""
    found: dict[str, ChangesByDay] = defaultdict(dict)
    found.update({pid: {} for pid in provider_user_ids or ()})
    if provider_user_ids is not None and not provider_user_ids:
        return found
    # Plain rows on the session's connection, after what the session holds is written.
    session.flush()
    values: dict[str, Any] = {"first": first, "last": last}
    if provider_user_ids is None:
        statement = _CHANGES_OF_ALL
    else:
        statement, values["providers"] = _CHANGES_OF_PROVIDERS, list(provider_user_ids)
    rows: Sequence[Any] = session.connection().execute(statement, values).all()
    found.update(changes_by_day(rows, first, last))
    return found


def changes_by_day(rows: Sequence[Any], first: date, last: date) -> dict[str, ChangesByDay]:
    """The rows of `_changes_selects` from `first` to `last` (their first eight columns) as each
    provider's changes by date."""
    off_by_day: dict[str, dict[date, list[TimeOff]]] = defaultdict(lambda: defaultdict(list))
    extra_by_day: dict[str, dict[date, list[Window]]] = defaultdict(lambda: defaultdict(list))
    for row in rows:
        user_id, is_extra, start_date, end_date, start, end, location_id, zone = row[:8]
        if is_extra:
            extra_by_day[user_id][start_date].append(window_at(start, end, location_id, zone))
            continue
        off = TimeOff(start_date, end_date, start, end)
        day = max(first, start_date)
        while day <= min(last, end_date):
            off_by_day[user_id][day].append(off)
            day += timedelta(days=1)
    found: dict[str, ChangesByDay] = {}
    for user_id in set(off_by_day) | set(extra_by_day):
        days = set(off_by_day[user_id]) | set(extra_by_day[user_id])
        found[user_id] = {
            day: DayChanges(tuple(extra_by_day[user_id][day]), tuple(off_by_day[user_id][day]))
            for day in days
        }
    return found


def span_changes_selects() -> tuple[sa.Select[Any], sa.Select[Any]]:
    """The time off and extra hours of the bound providers (`providers`, user ids) from the bound
    `first` to `last`, as `_changes_selects`, for a statement built once that reads them with
    something else of that span (`queries.availability.next_available_dates`)."""
    providers = ProviderProfile.user_id.in_(sa.bindparam("providers", expanding=True))
    return _changes_selects(_FIRST, _LAST, providers)


def day_changes_selects(*more: sa.ColumnElement[Any]) -> tuple[sa.Select[Any], sa.Select[Any]]:
    """The time off and extra hours of the bound provider (`provider`, a user id) on the bound
    `day`, as `_changes_selects` (with `more` columns), for a statement built once that reads
    them with something else of that day (`queries.availability.load_day`)."""
    day = sa.bindparam("day", type_=sa.Date)
    return _changes_selects(day, day, ProviderProfile.user_id == sa.bindparam("provider"), *more)


def changes_from_rows(rows: Sequence[Any], provider_user_id: str, day: date) -> DayChanges | None:
    """The time off and extra hours of one provider on `day` from rows of `day_changes_selects`
    (their first eight columns), or None when there are none."""
    return changes_by_day(rows, day, day).get(provider_user_id, {}).get(day)

"""How a provider's schedule looks on the wire: weekly windows, time off, extra hours, and the
appointments a change kept outside the hours."""

from __future__ import annotations

from typing import Any

from handlers.wire.formats import iso_date, iso_datetime
from models.appointments.rules.slots import format_time_of_day
from models.appointments.tables import ProviderAvailability, ProviderExtraHours, ProviderTimeOff
from models.schedules.use_cases import KeptVisit, Located


def kept(visits: list[KeptVisit]) -> list[dict[str, Any]]:
    return [
        {
            "id": v.id,
            "date": iso_date(v.day),
            "time": format_time_of_day(v.start),
            "timeZone": v.zone,
        }
        for v in visits
    ]


def window(located: Located) -> dict[str, Any]:
    row = located.row
    assert isinstance(row, ProviderAvailability)
    return {
        "id": row.id,
        "dayOfWeek": row.day_of_week,
        "startTime": format_time_of_day(row.start_time),
        "endTime": format_time_of_day(row.end_time),
        "locationId": row.location_id,
        "timeZone": located.zone,
        "isActive": row.is_active,
    }


def availability(
    provider_id: str, windows: list[Located], kept_visits: list[KeptVisit]
) -> dict[str, Any]:
    return {
        "providerId": provider_id,
        "windows": [window(w) for w in windows],
        "keptAppointments": kept(kept_visits),
    }


def _time(value: Any) -> str | None:
    return None if value is None else format_time_of_day(value)


def time_off(row: ProviderTimeOff, kept_visits: list[KeptVisit] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": row.id,
        "startDate": iso_date(row.start_date),
        "endDate": iso_date(row.end_date),
        "startTime": _time(row.start_time),
        "endTime": _time(row.end_time),
        "reason": row.reason,
        "createdAt": iso_datetime(row.created_at),
    }
    if kept_visits is not None:
        body["keptAppointments"] = kept(kept_visits)
    return body


def extra_hours(located: Located) -> dict[str, Any]:
    row = located.row
    assert isinstance(row, ProviderExtraHours)
    return {
        "id": row.id,
        "date": iso_date(row.date),
        "startTime": format_time_of_day(row.start_time),
        "endTime": format_time_of_day(row.end_time),
        "locationId": row.location_id,
        "timeZone": located.zone,
        "createdAt": iso_datetime(row.created_at),
    }

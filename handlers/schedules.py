"""A provider's schedule: weekly availability, time off and extra hours."""

from __future__ import annotations

from datetime import date
from typing import Any

from handlers import dependencies
from handlers.wire import schedules as wire
from models.appointments.rules.slots import parse_time_of_day
from models.schedules import use_cases
from models.schedules.use_cases import ExtraHoursRequest, TimeOffRequest, WindowRequest
from security.identity import Identity

Answer = tuple[dict[str, Any], int]


def _time(text: str | None) -> Any:
    return None if text is None else parse_time_of_day(text)


def get_provider_availability(provider_id: str, token_info: dict[str, Any]) -> Answer:
    current = dependencies.current()
    windows = use_cases.get_availability(
        current.db, Identity.from_token_info(token_info), provider_id, dependencies.clinic_clock()
    )
    return wire.availability(provider_id, windows, []), 200


def replace_provider_availability(
    provider_id: str, body: dict[str, Any], token_info: dict[str, Any]
) -> Answer:
    current = dependencies.current()
    windows = [
        WindowRequest(
            weekday=w["dayOfWeek"],
            start=parse_time_of_day(w["startTime"]),
            end=parse_time_of_day(w["endTime"]),
            location_id=w.get("locationId"),
            is_active=w.get("isActive", True),
        )
        for w in body["windows"]
    ]
    changed = use_cases.replace_availability(
        current.db,
        Identity.from_token_info(token_info),
        provider_id,
        windows,
        body.get("conflicts", "refuse"),
        dependencies.clinic_clock(),
    )
    current.search_directory.clear()  # this process's search sees the new hours at once
    return wire.availability(provider_id, changed.value, changed.kept), 200


def list_provider_time_off(provider_id: str, token_info: dict[str, Any]) -> Answer:
    current = dependencies.current()
    rows = use_cases.list_time_off(
        current.db, Identity.from_token_info(token_info), provider_id, dependencies.clinic_clock()
    )
    return {"data": [wire.time_off(row) for row in rows]}, 200


def create_provider_time_off(
    provider_id: str, body: dict[str, Any], token_info: dict[str, Any]
) -> Answer:
    current = dependencies.current()
    request = TimeOffRequest(
        first=date.fromisoformat(body["startDate"]),
        last=date.fromisoformat(body.get("endDate", body["startDate"])),
        start_time=_time(body.get("startTime")),
        end_time=_time(body.get("endTime")),
        reason=body.get("reason"),
    )
    changed = use_cases.add_time_off(
        current.db,
        Identity.from_token_info(token_info),
        provider_id,
        request,
        body.get("conflicts", "refuse"),
        dependencies.clinic_clock(),
    )
    return wire.time_off(changed.value, changed.kept), 201


def delete_provider_time_off(
    provider_id: str, time_off_id: str, token_info: dict[str, Any]
) -> tuple[None, int]:
    use_cases.delete_time_off(
        dependencies.current().db, Identity.from_token_info(token_info), provider_id, time_off_id
    )
    return None, 204


def list_provider_extra_hours(provider_id: str, token_info: dict[str, Any]) -> Answer:
    current = dependencies.current()
    rows = use_cases.list_extra_hours(
        current.db, Identity.from_token_info(token_info), provider_id, dependencies.clinic_clock()
    )
    return {"data": [wire.extra_hours(row) for row in rows]}, 200


def create_provider_extra_hours(
    provider_id: str, body: dict[str, Any], token_info: dict[str, Any]
) -> Answer:
    current = dependencies.current()
    request = ExtraHoursRequest(
        day=date.fromisoformat(body["date"]),
        start=parse_time_of_day(body["startTime"]),
        end=parse_time_of_day(body["endTime"]),
        location_id=body.get("locationId"),
    )
    located = use_cases.add_extra_hours(
        current.db,
        Identity.from_token_info(token_info),
        provider_id,
        request,
        dependencies.clinic_clock(),
    )
    return wire.extra_hours(located), 201


def delete_provider_extra_hours(
    provider_id: str, extra_hours_id: str, token_info: dict[str, Any], conflicts: str = "refuse"
) -> Answer:
    current = dependencies.current()
    changed = use_cases.delete_extra_hours(
        current.db,
        Identity.from_token_info(token_info),
        provider_id,
        extra_hours_id,
        conflicts,
        dependencies.clinic_clock(),
    )
    return {"keptAppointments": wire.kept(changed.kept)}, 200

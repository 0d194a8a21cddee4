"""A provider's schedule: weekly availability, time off and extra hours.

Every operation names the provider in its path and runs one use case as the caller, on the
clinic's clock (`_read`, `_change`); a change that can open hours also hands the waitlist its
hook, so the starts it opens are offered as a cancelled slot is.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

from handlers import dependencies
from handlers.wire import schedules as wire
from models.appointments.rules.slots import parse_time_of_day
from models.schedules import use_cases
from models.schedules.use_cases import ExtraHoursRequest, TimeOffRequest, WindowRequest
from security.identity import Identity

Answer = tuple[dict[str, Any], int]
T = TypeVar("T")


def _time(text: str | None) -> Any:
    return None if text is None else parse_time_of_day(text)


def _read(use_case: Callable[..., T], provider_id: str, token_info: dict[str, Any]) -> T:
    """`use_case(db, caller, provider_id, clock)`."""
    return use_case(
        dependencies.current().db,
        Identity.from_token_info(token_info),
        provider_id,
        clock=dependencies.clinic_clock(),
    )


def _change(
    use_case: Callable[..., T],
    provider_id: str,
    token_info: dict[str, Any],
    *args: Any,
    opens_hours: bool = False,
) -> T:
    """`use_case(db, caller, provider_id, *args, clock[, opened])`; once it has committed, this
    process's search sees the new hours, and the waitlist offers it made are counted."""
    current = dependencies.current()
    refill = dependencies.slot_refill()
    hook = {"opened": refill.opened} if opens_hours else {}
    result = use_case(
        current.db,
        Identity.from_token_info(token_info),
        provider_id,
        *args,
        clock=dependencies.clinic_clock(),
        **hook,
    )
    current.search_directory.clear()
    if opens_hours:
        dependencies.count_offers(refill)
    return result


# -- weekly windows ---------------------------------------------------------------------------


def get_provider_availability(provider_id: str, token_info: dict[str, Any]) -> Answer:
    windows = _read(use_cases.get_availability, provider_id, token_info)
    return wire.availability(provider_id, windows, []), 200


def replace_provider_availability(
    provider_id: str, body: dict[str, Any], token_info: dict[str, Any]
) -> Answer:
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
    changed = _change(
        use_cases.replace_availability,
        provider_id,
        token_info,
        windows,
        body.get("conflicts", "refuse"),
        opens_hours=True,
    )
    return wire.availability(provider_id, changed.value, changed.kept), 200


# -- time off ---------------------------------------------------------------------------------


def list_provider_time_off(provider_id: str, token_info: dict[str, Any]) -> Answer:
    rows = _read(use_cases.list_time_off, provider_id, token_info)
    return {"data": [wire.time_off(row) for row in rows]}, 200


def create_provider_time_off(
    provider_id: str, body: dict[str, Any], token_info: dict[str, Any]
) -> Answer:
    request = TimeOffRequest(
        first=date.fromisoformat(body["startDate"]),
        last=date.fromisoformat(body.get("endDate", body["startDate"])),
        start_time=_time(body.get("startTime")),
        end_time=_time(body.get("endTime")),
        reason=body.get("reason"),
    )
    changed = _change(
        use_cases.add_time_off, provider_id, token_info, request, body.get("conflicts", "refuse")
    )
    return wire.time_off(changed.value, changed.kept), 201


def delete_provider_time_off(
    provider_id: str, time_off_id: str, token_info: dict[str, Any]
) -> tuple[None, int]:
    _change(use_cases.delete_time_off, provider_id, token_info, time_off_id, opens_hours=True)
    return None, 204


# -- extra hours ------------------------------------------------------------------------------


def list_provider_extra_hours(provider_id: str, token_info: dict[str, Any]) -> Answer:
    rows = _read(use_cases.list_extra_hours, provider_id, token_info)
    return {"data": [wire.extra_hours(row) for row in rows]}, 200


def create_provider_extra_hours(
    provider_id: str, body: dict[str, Any], token_info: dict[str, Any]
) -> Answer:
    request = ExtraHoursRequest(
        day=date.fromisoformat(body["date"]),
        start=parse_time_of_day(body["startTime"]),
        end=parse_time_of_day(body["endTime"]),
        location_id=body.get("locationId"),
    )
    located = _change(use_cases.add_extra_hours, provider_id, token_info, request, opens_hours=True)
    return wire.extra_hours(located), 201


def delete_provider_extra_hours(
    provider_id: str, extra_hours_id: str, token_info: dict[str, Any], conflicts: str = "refuse"
) -> Answer:
    changed = _change(
        use_cases.delete_extra_hours, provider_id, token_info, extra_hours_id, conflicts
    )
    return {"keptAppointments": wire.kept(changed.kept)}, 200

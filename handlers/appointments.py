"""Appointments: list, detail, book, reschedule, cancel, and the lifecycle's steps (confirm,
check in, complete, no-show)."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import flask

from adapters import metrics
from handlers import dependencies
from handlers.wire import appointments as wire
from handlers.wire.formats import page_headers, pagination
from kernel.errors import Conflict, DomainError
from models.appointments.queries.appointments import AppointmentFilters
from models.appointments.rules.lifecycle import LifecycleTimes
from models.appointments.rules.slots import parse_time_of_day
from models.appointments.use_cases import appointments as use_cases
from models.appointments.use_cases import lifecycle
from models.appointments.use_cases.appointments import BookingRequest
from models.appointments.use_cases.lifecycle import LifecycleStep
from security.identity import Identity

_day = date.fromisoformat  # `date` is also a query parameter's name below


def list_appointments(
    token_info: dict[str, Any],
    status: str | None = None,
    start_date: str | None = None,
    end_date: str | None = None,
    provider_id: str | None = None,
    date: str | None = None,
    location: str | None = None,
    patient_id: str | None = None,
    page: int = 1,
    limit: int = 20,
) -> tuple[dict[str, Any], int, dict[str, str]]:
    one_day = _day(date) if date else None
    starts, ends = _day(start_date) if start_date else None, _day(end_date) if end_date else None
    filters = AppointmentFilters(
        status=status,
        start_date=max(filter(None, (starts, one_day)), default=None),
        end_date=min(filter(None, (ends, one_day)), default=None),
        provider_id=provider_id,
        location=location,
        patient_id=patient_id,
    )
    rows, total = use_cases.list_appointments(
        dependencies.current().db, Identity.from_token_info(token_info), filters, page, limit
    )
    body = {
        "data": [wire.listed(row, dependencies.clinic_zone_name()) for row in rows],
        "pagination": pagination(page, limit, total),
    }
    return body, 200, page_headers(page, limit, total)


def get_appointment(id_: str, token_info: dict[str, Any]) -> tuple[dict[str, Any], int]:
    row = use_cases.get_appointment(
        dependencies.current().db, Identity.from_token_info(token_info), id_
    )
    return wire.detail(row, dependencies.clinic_zone_name()), 200


def create_appointment(
    body: dict[str, Any], token_info: dict[str, Any]
) -> tuple[dict[str, Any], int, dict[str, str]]:
    request = BookingRequest(
        provider_id=body["providerId"],
        day=date.fromisoformat(body["date"]),
        start=parse_time_of_day(body["time"]),
        type=body["type"],
        reason=body["reason"],
        notes=body.get("notes"),
        is_virtual=body.get("isVirtual", False),
        patient_id=body.get("patientId"),
    )
    current = dependencies.current()
    try:
        appointment = use_cases.book(
            current.db,
            Identity.from_token_info(token_info),
            request,
            dependencies.clinic_clock(),
            current.settings.virtual_meeting_base_url,
            current.outbox,
        )
    except DomainError as refused:  # counted, then answered by the error translator as usual
        metrics.record_booking_outcome("conflict" if isinstance(refused, Conflict) else "rejected")
        raise
    metrics.record_booking_outcome("success")
    headers = {"Location": f"/api/appointments/{appointment.id}"}
    return wire.booked(appointment, dependencies.clinic_zone_name()), 201, headers


def reschedule_appointment(
    id_: str, body: dict[str, Any], token_info: dict[str, Any]
) -> tuple[dict[str, Any], int]:
    current = dependencies.current()
    appointment = use_cases.reschedule(
        current.db,
        Identity.from_token_info(token_info),
        id_,
        date.fromisoformat(body["date"]),
        parse_time_of_day(body["time"]),
        body.get("reason"),
        dependencies.clinic_clock(),
        current.outbox,
        refill := dependencies.slot_refill(),
    )
    dependencies.count_offers(refill)
    return wire.booked(appointment, dependencies.clinic_zone_name()), 200


def cancel_appointment(
    id_: str, body: dict[str, Any], token_info: dict[str, Any]
) -> tuple[dict[str, Any], int]:
    current = dependencies.current()
    appointment = use_cases.cancel(
        current.db,
        Identity.from_token_info(token_info),
        id_,
        body["reason"],
        dependencies.clinic_clock(),
        current.outbox,
        refill := dependencies.slot_refill(),
        body.get("expectedStatus"),
    )
    dependencies.count_offers(refill)
    return wire.cancelled(appointment), 200


def _lifecycle_step(
    step: LifecycleStep, id_: str, body: object, token_info: dict[str, Any]
) -> tuple[dict[str, Any], int]:
    # The body is optional: without one (and so without a JSON content type) connexion hands
    # over the empty raw bytes instead of the schema's default.
    options: dict[str, Any] = body if isinstance(body, dict) else {}
    current = dependencies.current()
    settings = current.settings
    times = LifecycleTimes(
        check_in_opens=timedelta(minutes=settings.check_in_opens_minutes),
        no_show_grace=timedelta(minutes=settings.no_show_grace_minutes),
    )
    appointment = step(
        current.db,
        Identity.from_token_info(token_info),
        id_,
        options.get("expectedStatus"),
        dependencies.clinic_clock(),
        times,
        current.outbox,
    )
    return wire.booked(appointment, dependencies.clinic_zone_name()), 200


def confirm_appointment(
    id_: str, token_info: dict[str, Any], body: object = None
) -> tuple[dict[str, Any], int]:
    return _lifecycle_step(lifecycle.confirm, id_, body, token_info)


def check_in_appointment(
    id_: str, token_info: dict[str, Any], body: object = None
) -> tuple[dict[str, Any], int]:
    return _lifecycle_step(lifecycle.check_in, id_, body, token_info)


def complete_appointment(
    id_: str, token_info: dict[str, Any], body: object = None
) -> tuple[dict[str, Any], int]:
    return _lifecycle_step(lifecycle.complete, id_, body, token_info)


def mark_appointment_no_show(
    id_: str, token_info: dict[str, Any], body: object = None
) -> tuple[dict[str, Any], int]:
    return _lifecycle_step(lifecycle.mark_no_show, id_, body, token_info)


def get_appointment_calendar(id_: str, token_info: dict[str, Any]) -> flask.Response:
    current = dependencies.current()
    invitation = use_cases.calendar(
        current.db,
        Identity.from_token_info(token_info),
        id_,
        dependencies.clinic_clock(),
        current.outbox,
    )
    return flask.Response(
        invitation,
        status=200,
        mimetype="text/calendar",
        headers={"Content-Disposition": 'attachment; filename="appointment.ics"'},
    )

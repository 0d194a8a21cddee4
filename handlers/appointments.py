"""Appointments: list, detail, book, reschedule, cancel."""

from __future__ import annotations

from datetime import date
from typing import Any

import flask

from adapters import metrics
from handlers import dependencies
from handlers.wire import appointments as wire
from handlers.wire.formats import page_headers, pagination
from kernel.errors import Conflict, DomainError
from models.appointments import use_cases
from models.appointments.queries.appointments import AppointmentFilters
from models.appointments.rules.slots import parse_time_of_day
from models.appointments.use_cases import BookingRequest
from security.identity import Identity


def list_appointments(
    token_info: dict[str, Any],
    status: str | None = None,
    start_date: str | None = None,
    end_date: str | None = None,
    provider_id: str | None = None,
    page: int = 1,
    limit: int = 20,
) -> tuple[dict[str, Any], int, dict[str, str]]:
    filters = AppointmentFilters(
        status=status,
        start_date=date.fromisoformat(start_date) if start_date else None,
        end_date=date.fromisoformat(end_date) if end_date else None,
        provider_id=provider_id,
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
    return wire.booked(appointment, current.settings.clinic_timezone), 201, headers


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
    )
    return wire.booked(appointment, current.settings.clinic_timezone), 200


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
    )
    return wire.cancelled(appointment), 200


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

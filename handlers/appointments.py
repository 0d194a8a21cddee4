"""Appointments (plan 1.1): list, detail, book, reschedule, cancel."""

from __future__ import annotations

from datetime import date
from typing import Any

from handlers import appointment_json
from handlers.formats import page_headers, pagination
from models import appointment_queries, booking
from models.base import utcnow
from models.scheduling import parse_time_of_day
from portal import metrics
from portal.errors import ApiError, Conflict, NotFound
from portal.runtime import services
from security.identity import Identity
from security.policy import appointment_scope, require_appointment_viewer, require_patient

Response = tuple[dict[str, Any], int, dict[str, str]]


def _clock() -> booking.Clock:
    return booking.Clock(now=utcnow(), zone=services().settings.clinic_zone)


def list_appointments(
    token_info: dict[str, Any],
    status: str | None = None,
    start_date: str | None = None,
    end_date: str | None = None,
    provider_id: str | None = None,
    page: int = 1,
    limit: int = 20,
) -> Response:
    scope = appointment_scope(Identity.from_token_info(token_info))
    filters = appointment_queries.AppointmentFilters(
        status=status,
        start_date=date.fromisoformat(start_date) if start_date else None,
        end_date=date.fromisoformat(end_date) if end_date else None,
        provider_id=provider_id,
    )
    rows, total = appointment_queries.list_appointments(
        services().db.session(), scope, filters, page, limit
    )
    body = {
        "data": [appointment_json.listed(row) for row in rows],
        "pagination": pagination(page, limit, total),
    }
    return body, 200, page_headers(page, limit, total)


def get_appointment(id_: str, token_info: dict[str, Any]) -> Response:
    row = appointment_queries.get_appointment(services().db.session(), id_)
    if row is None:
        raise NotFound("Appointment not found")
    identity = Identity.from_token_info(token_info)
    require_appointment_viewer(identity, row.appointment.patient_id, row.appointment.provider_id)
    return appointment_json.detail(row), 200


def create_appointment(body: dict[str, Any], token_info: dict[str, Any]) -> Response:
    identity = Identity.from_token_info(token_info)
    require_patient(identity, "Only patients can book appointments")
    request = booking.BookingRequest(
        provider_id=body["providerId"],
        day=date.fromisoformat(body["date"]),
        start=parse_time_of_day(body["time"]),
        type=body["type"],
        reason=body["reason"],
        notes=body.get("notes"),
        is_virtual=body.get("isVirtual", False),
    )
    current, clock = services(), _clock()
    meeting_base = current.settings.virtual_meeting_base_url
    try:
        appointment = current.db.run(
            lambda session: booking.book(session, identity.user_id, request, clock, meeting_base)
        )
    except ApiError as refused:  # counted, then answered by the error translator as usual
        metrics.record_booking_outcome("conflict" if isinstance(refused, Conflict) else "rejected")
        raise
    metrics.record_booking_outcome("success")
    headers = {"Location": f"/api/appointments/{appointment.id}"}
    return appointment_json.booked(appointment), 201, headers


def reschedule_appointment(
    id_: str,
    body: dict[str, Any],
    token_info: dict[str, Any],
) -> Response:
    identity = Identity.from_token_info(token_info)
    day, start, clock = date.fromisoformat(body["date"]), parse_time_of_day(body["time"]), _clock()
    appointment = services().db.run(
        lambda session: booking.reschedule(
            session, identity, id_, day, start, body.get("reason"), clock
        )
    )
    return appointment_json.booked(appointment), 200


def cancel_appointment(
    id_: str,
    body: dict[str, Any],
    token_info: dict[str, Any],
) -> Response:
    identity = Identity.from_token_info(token_info)
    clock = _clock()
    appointment = services().db.run(
        lambda session: booking.cancel(session, identity, id_, body["reason"], clock)
    )
    return appointment_json.cancelled(appointment), 200

"""How appointments look on the wire: listed, in detail, booked or changed, cancelled."""

from __future__ import annotations

from typing import Any

from handlers.wire.formats import iso_date, iso_datetime
from models.appointments.queries.appointments import (
    AppointmentColumns,
    AppointmentDetail,
    ListedAppointment,
)
from models.appointments.rules.slots import format_time_of_day
from models.appointments.tables import Appointment
from models.providers.rules import specialty_name


def _brief(
    user_id: str,
    first_name: str,
    last_name: str,
    specialty: str | None,
    npi: str | None,
    photo_url: str | None,
) -> dict[str, Any]:
    """A provider in a few words; `specialty` is the profile's code, None without a profile."""
    return {
        "id": user_id,
        "firstName": first_name,
        "lastName": last_name,
        "specialty": "" if specialty is None else specialty_name(specialty),
        "npi": npi,
        "photoUrl": photo_url,
    }


def provider_contact(row: AppointmentDetail) -> dict[str, Any]:
    """The provider of an appointment's detail: the profile's phone and email, else the
    account's."""
    return {
        **_brief(
            row.provider_id,
            row.provider_first_name,
            row.provider_last_name,
            row.specialty,
            row.npi,
            row.photo_url,
        ),
        "title": row.title,
        "phone": row.profile_phone or row.provider_phone,
        "email": row.profile_email or row.provider_email,
    }


def zone_of(appointment: AppointmentColumns, clinic_zone: str) -> str:
    """The IANA zone the appointment's date and time are in: its location's, else the clinic's."""
    return appointment.time_zone or clinic_zone


def _core(appointment: AppointmentColumns, clinic_zone: str) -> dict[str, Any]:
    return {
        "id": appointment.id,
        "patientId": appointment.patient_id,
        "providerId": appointment.provider_id,
        "date": iso_date(appointment.date),
        "time": format_time_of_day(appointment.start_time),
        "type": appointment.type,
        "status": appointment.status,
        "reason": appointment.reason,
        "notes": appointment.notes,
        "isVirtual": appointment.is_virtual,
        "timeZone": zone_of(appointment, clinic_zone),
    }


def _visit_times(appointment: AppointmentColumns) -> dict[str, Any]:
    """When the patient was checked in and out (null until then)."""
    return {
        "checkInTime": iso_datetime(appointment.check_in_time),
        "checkOutTime": iso_datetime(appointment.check_out_time),
    }


def listed(row: ListedAppointment, clinic_zone: str) -> dict[str, Any]:
    return {
        **_core(row, clinic_zone),
        "provider": _brief(
            row.provider_id,
            row.provider_first_name,
            row.provider_last_name,
            row.specialty,
            row.npi,
            row.photo_url,
        ),
        "location": row.location,
        "duration": row.duration,
        **_visit_times(row),
        "createdAt": iso_datetime(row.created_at),
        "updatedAt": iso_datetime(row.updated_at),
    }


def detail(row: AppointmentDetail, clinic_zone: str) -> dict[str, Any]:
    return {
        **_core(row, clinic_zone),
        "provider": provider_contact(row),
        "virtualMeetingUrl": row.virtual_meeting_url,
        "location": row.location,
        "duration": row.duration,
        **_visit_times(row),
        "cancellationReason": row.cancellation_reason,
        "cancelledAt": iso_datetime(row.cancelled_at),
        "createdAt": iso_datetime(row.created_at),
        "updatedAt": iso_datetime(row.updated_at),
    }


def booked(appointment: Appointment, clinic_zone: str) -> dict[str, Any]:
    return {
        **_core(appointment, clinic_zone),
        "virtualMeetingUrl": appointment.virtual_meeting_url,
        "location": appointment.location,
        "duration": appointment.duration,
        **_visit_times(appointment),
        "createdAt": iso_datetime(appointment.created_at),
        "updatedAt": iso_datetime(appointment.updated_at),
    }


def cancelled(appointment: Appointment) -> dict[str, Any]:
    return {
        "message": "Appointment cancelled successfully",
        "id": appointment.id,
        "status": appointment.status,
        "cancelledAt": iso_datetime(appointment.cancelled_at),
        "cancellationReason": appointment.cancellation_reason,
    }

"""How the waitlist looks on the wire: entries and offers."""

from __future__ import annotations

from typing import Any

from handlers.wire.formats import iso_date, iso_datetime
from models.appointments.rules.slots import format_time_of_day
from models.appointments.rules.visits import duration_for
from models.waitlist.use_cases import EntryView, OfferView


def entry(view: EntryView) -> dict[str, Any]:
    found = view.entry
    return {
        "id": found.id,
        "providerId": found.provider_id,
        "specialty": found.specialty,
        "startDate": iso_date(found.first_day),
        "endDate": iso_date(found.last_day),
        "timeOfDay": found.time_of_day,
        "type": found.visit_type,
        "reason": found.reason,
        "status": view.state,
        "createdAt": iso_datetime(found.created_at),
    }


def offer(view: OfferView) -> dict[str, Any]:
    found = view.offer
    return {
        "id": found.id,
        "entryId": found.entry_id,
        "providerId": found.slot.provider_id,
        "providerName": view.provider_name,
        "date": iso_date(found.slot.date),
        "time": format_time_of_day(found.slot.start_time),
        "type": found.entry.visit_type,
        "duration": duration_for(found.entry.visit_type),
        "status": view.state,
        "offeredAt": iso_datetime(found.offered_at),
        "expiresAt": iso_datetime(found.expires_at),
        "appointmentId": found.appointment_id,
    }

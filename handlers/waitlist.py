"""The waitlist: join, list and leave entries; list, accept and decline offers."""

from __future__ import annotations

from datetime import date
from typing import Any

from adapters import metrics
from handlers import dependencies
from handlers.wire import appointments as appointment_wire
from handlers.wire import waitlist as wire
from models.waitlist import use_cases
from models.waitlist.rules import Wish
from security.identity import Identity


def join_waitlist(body: dict[str, Any], token_info: dict[str, Any]) -> tuple[dict[str, Any], int]:
    wish = Wish(
        provider_id=body.get("providerId"),
        specialty=body.get("specialty"),
        first_day=date.fromisoformat(body["startDate"]),
        last_day=date.fromisoformat(body["endDate"]),
        time_of_day=body.get("timeOfDay", "any"),
        visit_type=body["type"],
    )
    current = dependencies.current()
    view = use_cases.join(
        current.db,
        Identity.from_token_info(token_info),
        wish,
        body["reason"],
        dependencies.clinic_clock(),
        current.waitlist,
    )
    return wire.entry(view), 201


def list_waitlist(token_info: dict[str, Any]) -> tuple[dict[str, Any], int]:
    views = use_cases.list_entries(
        dependencies.current().db, Identity.from_token_info(token_info), dependencies.clinic_clock()
    )
    return {"data": [wire.entry(view) for view in views]}, 200


def leave_waitlist(entry_id: str, token_info: dict[str, Any]) -> tuple[dict[str, Any], int]:
    view = use_cases.leave(
        dependencies.current().db,
        Identity.from_token_info(token_info),
        entry_id,
        dependencies.clinic_clock(),
    )
    return wire.entry(view), 200


def list_waitlist_offers(token_info: dict[str, Any]) -> tuple[dict[str, Any], int]:
    views = use_cases.list_offers(
        dependencies.current().db, Identity.from_token_info(token_info), dependencies.clinic_clock()
    )
    return {"data": [wire.offer(view) for view in views]}, 200


def accept_waitlist_offer(
    offer_id: str, token_info: dict[str, Any]
) -> tuple[dict[str, Any], int, dict[str, str]]:
    current = dependencies.current()
    accepted = use_cases.accept(
        current.db,
        Identity.from_token_info(token_info),
        offer_id,
        dependencies.clinic_clock(),
        current.settings.virtual_meeting_base_url,
        current.outbox,
    )
    metrics.record_waitlist_offers(accepted=1)
    metrics.record_waitlist_refill(accepted.refill_seconds)
    headers = {"Location": f"/api/appointments/{accepted.appointment.id}"}
    return (
        appointment_wire.booked(accepted.appointment, dependencies.clinic_zone_name()),
        201,
        headers,
    )


def decline_waitlist_offer(offer_id: str, token_info: dict[str, Any]) -> tuple[dict[str, Any], int]:
    current = dependencies.current()
    view, refill = use_cases.decline(
        current.db,
        Identity.from_token_info(token_info),
        offer_id,
        dependencies.clinic_clock(),
        current.waitlist,
        current.outbox,
    )
    metrics.record_waitlist_offers(
        declined=1, sent=refill.sent, expired=refill.expired, taken=refill.taken
    )
    return wire.offer(view), 200

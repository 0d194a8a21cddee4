"""Provider search and available slots, with their caching headers (ETag on search)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import flask

from adapters import metrics
from handlers import dependencies
from handlers.wire import providers as wire
from handlers.wire.formats import etag_matches, strong_etag
from models.appointments.rules.slots import format_time_of_day
from models.appointments.use_cases import appointments
from models.providers.queries import SearchFilters
from models.search import use_cases as search

# Search results are the same for every caller; slots change as soon as someone books.
SEARCH_CACHE_CONTROL = "public, max-age=300"
SLOTS_CACHE_CONTROL = "private, max-age=60"


def _json_with_etag(payload: dict[str, Any], cache_control: str) -> flask.Response:
    """200 with the body and its strong ETag, or 304 without a body when the client's
    If-None-Match already names that ETag."""
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    headers = {"ETag": strong_etag(body), "Cache-Control": cache_control}
    if etag_matches(flask.request.headers.get("If-None-Match"), headers["ETag"]):
        return flask.Response(status=304, headers=headers)
    return flask.Response(body, status=200, headers=headers, mimetype="application/json")


def filters_from(body: dict[str, Any]) -> SearchFilters:
    """The search body's filter fields, as the spec names them, to the search's filters."""
    return SearchFilters(
        specialty=body.get("specialty"),
        location=body.get("location"),
        day=dt.date.fromisoformat(body["date"]) if "date" in body else None,
        insurance=body.get("insuranceAccepted"),
    )


def search_providers(body: dict[str, Any] | bytes | None = None) -> flask.Response:
    # A POST with no body (hence no Content-Type) arrives as the spec's default `{}`, unparsed.
    body = body if isinstance(body, dict) else {}
    current = dependencies.current()
    found = search.search_providers(
        current.db,
        current.search_directory,
        filters_from(body),
        page=body.get("page", 1),
        limit=body.get("limit", 20),
        clock=dependencies.clinic_clock(),
    )
    metrics.record_search_results(found.total)
    zone = current.settings.clinic_timezone
    payload = {
        "data": [wire.provider(card, zone) for card in found.providers],
        "total": found.total,
    }
    return _json_with_etag(payload, SEARCH_CACHE_CONTROL)


def get_available_slots(
    provider_id: str, date: str, duration: int
) -> tuple[dict[str, Any], int, dict[str, str]]:
    current = dependencies.current()
    slots = appointments.available_slots(
        current.db,
        provider_id,
        dt.date.fromisoformat(date),
        duration,
        dependencies.clinic_clock(),
    )
    payload = {
        "date": date,
        "providerId": provider_id,
        "slots": [format_time_of_day(start) for start in slots.starts],
        "timeZone": slots.zone.key,
    }
    return payload, 200, {"Cache-Control": SLOTS_CACHE_CONTROL}

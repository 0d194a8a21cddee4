"""Provider search and available slots (plan 1.2), with the plan's caching headers (8.1, 8.2)."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import flask

from handlers.formats import etag_matches, iso_date, strong_etag
from models import availability, provider_search
from models.base import utcnow
from models.providers import SPECIALTY_NAMES
from models.scheduling import format_time_of_day
from portal import metrics
from portal.errors import NotFound
from portal.runtime import services

# Search results are the same for every caller; slots change as soon as someone books.
SEARCH_CACHE_CONTROL = "public, max-age=300"
SLOTS_CACHE_CONTROL = "private, max-age=60"


def _location_json(location: provider_search.CardLocation | None) -> dict[str, str] | None:
    if location is None:
        return None
    return {
        "address": location.address,
        "city": location.city,
        "state": location.state,
        "zipCode": location.zip_code,
    }


def provider_json(card: provider_search.ProviderCard) -> dict[str, Any]:
    profile = card.profile
    return {
        "id": card.user_id,
        "firstName": card.first_name,
        "lastName": card.last_name,
        "title": profile.title,
        "specialty": SPECIALTY_NAMES.get(profile.specialty, profile.specialty),
        "specialties": profile.specialties or [],
        "npi": profile.npi,
        "photoUrl": profile.photo_url,
        "bio": profile.bio,
        "languages": profile.languages or [],
        "yearsOfExperience": profile.years_of_experience,
        "education": profile.education,
        "certifications": profile.certifications or [],
        "acceptingNewPatients": profile.accepting_new_patients,
        "rating": None if profile.rating is None else float(profile.rating),
        "reviewCount": profile.review_count or 0,
        "nextAvailableDate": iso_date(card.next_available),
        "location": _location_json(card.location),
        "phone": profile.phone,
        "email": profile.email,
    }


def _json_with_etag(payload: dict[str, Any], cache_control: str) -> flask.Response:
    """200 with the body and its strong ETag, or 304 without a body when the client's
    If-None-Match already names that ETag."""
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    headers = {"ETag": strong_etag(body), "Cache-Control": cache_control}
    if etag_matches(flask.request.headers.get("If-None-Match"), headers["ETag"]):
        return flask.Response(status=304, headers=headers)
    return flask.Response(body, status=200, headers=headers, mimetype="application/json")


def filters_from(body: dict[str, Any]) -> provider_search.SearchFilters:
    """The search body's filter fields, as the spec names them, to the search's filters."""
    return provider_search.SearchFilters(
        specialty=body.get("specialty"),
        location=body.get("location"),
        day=dt.date.fromisoformat(body["date"]) if "date" in body else None,
        insurance=body.get("insuranceAccepted"),
    )


def search_providers(body: dict[str, Any] | bytes | None = None) -> flask.Response:
    # A POST with no body (hence no Content-Type) arrives as the spec's default `{}`, unparsed.
    body = body if isinstance(body, dict) else {}
    current = services()
    found = provider_search.search_providers(
        current.db.session(),
        current.search_directory,
        filters_from(body),
        page=body.get("page", 1),
        limit=body.get("limit", 20),
        now=utcnow(),
        zone=current.settings.clinic_zone,
    )
    metrics.record_search_results(found.total)
    payload = {"data": [provider_json(card) for card in found.providers], "total": found.total}
    return _json_with_etag(payload, SEARCH_CACHE_CONTROL)


def get_available_slots(
    provider_id: str, date: str, duration: int
) -> tuple[dict[str, Any], int, dict[str, str]]:
    current = services()
    slots = availability.available_slots(
        current.db.session(),
        provider_id,
        dt.date.fromisoformat(date),
        duration,
        utcnow(),
        current.settings.clinic_zone,
    )
    if slots is None:
        raise NotFound("Provider not found")
    payload = {
        "date": date,
        "providerId": provider_id,
        "slots": [format_time_of_day(start) for start in slots],
    }
    return payload, 200, {"Cache-Control": SLOTS_CACHE_CONTROL}

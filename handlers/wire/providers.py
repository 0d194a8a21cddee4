"""How providers look on the wire: search cards."""

from __future__ import annotations

from typing import Any

from handlers.wire.formats import iso_date
from models.providers.queries import CardLocation
from models.providers.rules import specialty_name
from models.search.use_cases import ProviderCard


def _location(location: CardLocation | None, clinic_zone: str) -> dict[str, str] | None:
    if location is None:
        return None
    return {
        "address": location.address,
        "city": location.city,
        "state": location.state,
        "zipCode": location.zip_code,
        "timeZone": location.time_zone or clinic_zone,
    }


def provider(card: ProviderCard, clinic_zone: str) -> dict[str, Any]:
    row = card.row
    profile = row.profile
    return {
        "id": row.user_id,
        "firstName": row.first_name,
        "lastName": row.last_name,
        "title": profile.title,
        "specialty": specialty_name(profile.specialty),
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
        "location": _location(row.location, clinic_zone),
        "phone": profile.phone,
        "email": profile.email,
    }

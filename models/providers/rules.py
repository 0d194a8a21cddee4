"""Directory rules over plain values: how search terms compare, how specialties are named."""

from __future__ import annotations

# Specialty codes as the API's enum spells them, with the name shown to people.
SPECIALTY_NAMES = {
    "cardiology": "Cardiology",
    "dermatology": "Dermatology",
    "family_medicine": "Family Medicine",
    "internal_medicine": "Internal Medicine",
    "neurology": "Neurology",
    "obstetrics_gynecology": "Obstetrics & Gynecology",
    "oncology": "Oncology",
    "ophthalmology": "Ophthalmology",
    "orthopedics": "Orthopedics",
    "pediatrics": "Pediatrics",
    "psychiatry": "Psychiatry",
    "radiology": "Radiology",
    "surgery": "Surgery",
    "urology": "Urology",
}


def address_line(address: str, city: str, state: str, zip_code: str) -> str:
    """A location's address on one line, as visits and messages state it."""
    return f"{address}, {city}, {state} {zip_code}"


def search_term(text: str | None) -> str | None:
    """A filter term as compared: trimmed, inner whitespace collapsed, lowercase; blank is none."""
    cleaned = " ".join((text or "").split()).lower()
    return cleaned or None


def specialty_name(code: str) -> str:
    """The name people read for a specialty code ("family_medicine" -> "Family Medicine")."""
    return SPECIALTY_NAMES.get(code, code)

"""How consents look on the wire."""

from __future__ import annotations

from typing import Any

from handlers.wire.formats import iso_datetime
from models.consents.tables import PatientConsent


def consent(found: PatientConsent) -> dict[str, Any]:
    return {
        "id": found.id,
        "type": found.consent_type,
        "grantedAt": iso_datetime(found.granted_at),
        "revokedAt": iso_datetime(found.revoked_at),
        "active": found.revoked_at is None,
        "details": found.details,
    }

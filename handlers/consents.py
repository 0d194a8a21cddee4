"""A patient's consents: list, grant, revoke (revocations are kept, never deleted)."""

from __future__ import annotations

from typing import Any

from handlers.formats import iso_datetime
from models import consents
from models.base import utcnow
from models.consents import PatientConsent
from portal.runtime import services
from security import audit, policy
from security.identity import Identity


def consent_json(consent: PatientConsent) -> dict[str, Any]:
    return {
        "id": consent.id,
        "type": consent.consent_type,
        "grantedAt": iso_datetime(consent.granted_at),
        "revokedAt": iso_datetime(consent.revoked_at),
        "active": consent.revoked_at is None,
        "details": consent.details,
    }


def list_consents(token_info: dict[str, Any]) -> tuple[dict[str, Any], int, dict[str, str]]:
    identity = Identity.from_token_info(token_info)
    policy.require_patient(identity, "Only patients have consents")
    found = consents.list_consents(services().db.session(), identity.user_id)
    audit.note(resource_id=identity.user_id, details={"count": len(found)})
    return {"data": [consent_json(c) for c in found]}, 200


def grant_consent(
    body: dict[str, Any], token_info: dict[str, Any]
) -> tuple[dict[str, Any], int, dict[str, str]]:
    identity = Identity.from_token_info(token_info)
    policy.require_patient(identity, "Only patients can grant consents")

    def work(session):  # type: ignore[no-untyped-def]
        consent = consents.grant_consent(
            session, identity.user_id, body["type"], body.get("details"), utcnow()
        )
        audit.note(resource_id=consent.id, details={"type": consent.consent_type})
        return consent

    return consent_json(services().db.run(work)), 201


def revoke_consent(
    consent_id: str, token_info: dict[str, Any]
) -> tuple[dict[str, Any], int, dict[str, str]]:
    identity = Identity.from_token_info(token_info)
    policy.require_patient(identity, "Only patients can revoke consents")
    audit.note(resource_id=consent_id)

    def work(session):  # type: ignore[no-untyped-def]
        consent = consents.revoke_consent(session, identity, consent_id, utcnow())
        audit.note(details={"type": consent.consent_type})
        return consent

    return consent_json(services().db.run(work)), 200

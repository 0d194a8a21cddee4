"""What the API does with a patient's consents: list, grant, revoke (revocations are kept)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from kernel.database import reads, writes
from models.consents import queries
from models.consents.errors import ConsentAlreadyRevoked, ConsentInForce, ConsentNotFound
from models.consents.tables import PatientConsent
from security import audit
from security.identity import Identity
from security.policy.roles import require_owner, require_patient


@reads
def list_consents(session: Session, identity: Identity) -> list[PatientConsent]:
    require_patient(identity, "Only patients have consents")
    found = queries.consents_of(session, identity.user_id)
    audit.note(
        resource_id=identity.user_id, subject=identity.user_id, details={"count": len(found)}
    )
    return found


@writes
def grant_consent(
    session: Session, identity: Identity, consent_type: str, details: str | None, now: datetime
) -> PatientConsent:
    """Record a new grant; at most one consent of a type is in force at a time."""
    require_patient(identity, "Only patients can grant consents")
    audit.note(subject=identity.user_id)
    queries.lock_patient(session, identity.user_id)
    if queries.in_force(session, identity.user_id, consent_type) is not None:
        raise ConsentInForce(consent_type)
    consent = PatientConsent(
        patient_id=identity.user_id, consent_type=consent_type, granted_at=now, details=details
    )
    session.add(consent)
    session.flush()
    audit.note(resource_id=consent.id, details={"type": consent.consent_type})
    return consent


@writes
def revoke_consent(
    session: Session, identity: Identity, consent_id: str, now: datetime
) -> PatientConsent:
    """Mark the caller's consent revoked; the row stays, as the record of both events."""
    consent = session.get(PatientConsent, consent_id, with_for_update=True)
    if consent is not None:  # read first, so a refusal still names whose consent it was
        audit.note(subject=consent.patient_id)
    require_patient(identity, "Only patients can revoke consents")
    if consent is None:
        raise ConsentNotFound()
    require_owner(identity, consent.patient_id, "You can only revoke your own consents")
    if consent.revoked_at is not None:
        raise ConsentAlreadyRevoked()
    consent.revoked_at = now
    audit.note(details={"type": consent.consent_type})
    return consent

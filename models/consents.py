"""Consents a patient grants (and may later revoke) for uses of their data, and the use cases
that record them. Revocation never deletes: the row keeps both the grant and the revocation."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.base import Base, UtcDateTime, created_at_column, enum_column, id_column
from models.users import User
from portal.errors import Conflict, NotFound
from security import policy
from security.identity import Identity
from security.phi import EncryptedText

CONSENT_TYPES = (
    "data_sharing",
    "telehealth",
    "email_notifications",
    "sms_notifications",
    "research",
)


class PatientConsent(Base):
    __tablename__ = "patient_consents"
    __table_args__ = (sa.Index("ix_patient_consents_patient_type", "patient_id", "consent_type"),)

    id: Mapped[str] = id_column()
    patient_id: Mapped[str] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    consent_type: Mapped[str] = enum_column("consent_type", CONSENT_TYPES, nullable=False)
    granted_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    details: Mapped[str | None] = mapped_column(EncryptedText("patient_consents.details"))
    created_at: Mapped[datetime] = created_at_column()


def list_consents(session: Session, patient_id: str) -> list[PatientConsent]:
    """Every consent of the patient, revoked ones included, newest first."""
    return list(
        session.scalars(
            sa.select(PatientConsent)
            .where(PatientConsent.patient_id == patient_id)
            .order_by(PatientConsent.granted_at.desc(), PatientConsent.id)
        )
    )


def grant_consent(
    session: Session, patient_id: str, consent_type: str, details: str | None, now: datetime
) -> PatientConsent:
    """Record a new grant; at most one consent of a type is in force at a time."""
    # Lock the patient's row so two simultaneous grants of one type cannot both pass the check.
    session.execute(sa.select(User.id).where(User.id == patient_id).with_for_update())
    in_force = session.scalar(
        sa.select(PatientConsent.id).where(
            PatientConsent.patient_id == patient_id,
            PatientConsent.consent_type == consent_type,
            PatientConsent.revoked_at.is_(None),
        )
    )
    if in_force is not None:
        raise Conflict(f"A {consent_type} consent is already in force")
    consent = PatientConsent(
        patient_id=patient_id, consent_type=consent_type, granted_at=now, details=details
    )
    session.add(consent)
    session.flush()
    return consent


def revoke_consent(
    session: Session, identity: Identity, consent_id: str, now: datetime
) -> PatientConsent:
    """Mark the caller's consent revoked; the row stays, as the record of both events."""
    consent = session.get(PatientConsent, consent_id, with_for_update=True)
    if consent is None:
        raise NotFound("Consent not found")
    policy.require_owner(identity, consent.patient_id, "You can only revoke your own consents")
    if consent.revoked_at is not None:
        raise Conflict("This consent is already revoked")
    consent.revoked_at = now
    return consent

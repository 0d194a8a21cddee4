"""Statements on consents."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models.accounts.tables import User
from models.consents.tables import PatientConsent


def consents_of(session: Session, patient_id: str) -> list[PatientConsent]:
    """Every consent of the patient, revoked ones included, newest first."""
    return list(
        session.scalars(
            sa.select(PatientConsent)
            .where(PatientConsent.patient_id == patient_id)
            .order_by(PatientConsent.granted_at.desc(), PatientConsent.id)
        )
    )


def lock_patient(session: Session, patient_id: str) -> None:
    """Hold the patient's row until the transaction ends: two simultaneous grants of one type
    then cannot both pass the in-force check."""
    session.execute(sa.select(User.id).where(User.id == patient_id).with_for_update())


def in_force(session: Session, patient_id: str, consent_type: str) -> str | None:
    """The id of the patient's unrevoked consent of `consent_type`, if any."""
    return session.scalar(
        sa.select(PatientConsent.id).where(
            PatientConsent.patient_id == patient_id,
            PatientConsent.consent_type == consent_type,
            PatientConsent.revoked_at.is_(None),
        )
    )

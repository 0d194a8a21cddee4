"""Who may see or change what: ownership and role rules, one function per question.

Handlers never compare roles themselves; they call these and let `Forbidden` travel to the
error translator.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from models.record_queries import can_read_record
from portal.errors import Forbidden
from security.identity import ADMIN, CLINICAL_STAFF, DOCTOR, NURSE, PATIENT, Identity


def require_role(identity: Identity, *roles: str, message: str | None = None) -> None:
    if not identity.has_any_role(*roles):
        raise Forbidden(message)


def require_patient(identity: Identity, message: str = "Only patients can do this") -> None:
    require_role(identity, PATIENT, message=message)


def require_admin(identity: Identity, message: str = "Only administrators can do this") -> None:
    require_role(identity, ADMIN, message=message)


def require_owner(identity: Identity, owner_id: str, message: str | None = None) -> None:
    """The resource belongs to the caller."""
    if identity.user_id != owner_id:
        raise Forbidden(message)


def require_appointment_viewer(identity: Identity, patient_id: str, provider_id: str) -> None:
    """Patients see their own appointments, doctors those they give, nurses and admins all."""
    if identity.has_any_role(*CLINICAL_STAFF):
        return
    if identity.has_role(PATIENT) and identity.user_id == patient_id:
        return
    if identity.has_role(DOCTOR) and identity.user_id == provider_id:
        return
    raise Forbidden("You do not have permission to access this appointment")


def require_appointment_owner(identity: Identity, patient_id: str) -> None:
    """Only the patient who booked an appointment may change it."""
    if not (identity.has_role(PATIENT) and identity.user_id == patient_id):
        raise Forbidden("Only the patient who booked this appointment can change it")


@dataclass(frozen=True)
class AppointmentScope:
    """Which appointments a listing may show: None means no restriction on that side."""

    patient_id: str | None = None
    provider_id: str | None = None


def appointment_scope(identity: Identity) -> AppointmentScope:
    if identity.has_role(PATIENT):
        return AppointmentScope(patient_id=identity.user_id)
    if identity.has_role(DOCTOR):
        return AppointmentScope(provider_id=identity.user_id)
    if identity.has_any_role(*CLINICAL_STAFF):
        return AppointmentScope()
    raise Forbidden()


def require_record_reader(session: Session, identity: Identity, record_id: str) -> None:
    """403 unless the caller may read that (existing) medical record."""
    if not can_read_record(session, identity.role, identity.user_id, record_id):
        raise Forbidden("You do not have permission to access this medical record")


def require_attachment_uploader(identity: Identity) -> None:
    require_role(
        identity, DOCTOR, NURSE, message="Only doctors and nurses can attach files to records"
    )

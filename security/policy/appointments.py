"""Who may see which appointments, and who may change one."""

from __future__ import annotations

from dataclasses import dataclass

from kernel.errors import NotAllowed
from security.identity import CLINICAL_STAFF, DOCTOR, PATIENT, Identity


def require_appointment_viewer(identity: Identity, patient_id: str, provider_id: str) -> None:
    """Patients see their own appointments, doctors those they give, nurses and admins all."""
    if identity.has_any_role(*CLINICAL_STAFF):
        return
    if identity.has_role(PATIENT) and identity.user_id == patient_id:
        return
    if identity.has_role(DOCTOR) and identity.user_id == provider_id:
        return
    raise NotAllowed("You do not have permission to access this appointment")


def require_appointment_owner(identity: Identity, patient_id: str) -> None:
    """Only the patient who booked an appointment may change it."""
    if not (identity.has_role(PATIENT) and identity.user_id == patient_id):
        raise NotAllowed("Only the patient who booked this appointment can change it")


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
    raise NotAllowed()

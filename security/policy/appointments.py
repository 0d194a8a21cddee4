"""Who may see which appointments, and who may change one."""

from __future__ import annotations

from dataclasses import dataclass

from kernel.errors import InvalidInput, NotAllowed
from security.identity import ADMIN, CLINICAL_STAFF, DOCTOR, NURSE, PATIENT, Identity


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


def _is_owner(identity: Identity, patient_id: str) -> bool:
    return identity.has_role(PATIENT) and identity.user_id == patient_id


def _is_their_doctor(identity: Identity, provider_id: str) -> bool:
    return identity.has_role(DOCTOR) and identity.user_id == provider_id


def require_booking_for(identity: Identity, patient_id: str | None) -> str:
    """Who an appointment is booked for: a patient books for themselves (naming no one else),
    a nurse or an admin (the front desk) for the patient they name. Returns the patient's id."""
    if identity.has_role(PATIENT):
        if patient_id not in (None, identity.user_id):
            raise NotAllowed("Patients can only book appointments for themselves")
        return identity.user_id
    if identity.has_any_role(*CLINICAL_STAFF):
        if patient_id is None:
            raise InvalidInput.field("patientId", "is required when staff book for a patient")
        return patient_id
    raise NotAllowed("Only patients, nurses and administrators can book appointments")


def require_appointment_changer(identity: Identity, patient_id: str) -> None:
    """Moving or cancelling: the patient who booked it, or a nurse or admin on their behalf."""
    if _is_owner(identity, patient_id) or identity.has_any_role(*CLINICAL_STAFF):
        return
    raise NotAllowed("Only the patient, a nurse or an administrator can change this appointment")


def require_may_confirm(identity: Identity, patient_id: str) -> None:
    """The patient confirms their own visit; a nurse or an admin may on their behalf."""
    if _is_owner(identity, patient_id) or identity.has_any_role(*CLINICAL_STAFF):
        return
    raise NotAllowed("Only the patient, a nurse or an administrator can confirm this appointment")


def require_may_check_in(identity: Identity) -> None:
    """Checking a patient in is the front desk's: a nurse or an admin."""
    if not identity.has_any_role(NURSE, ADMIN):
        raise NotAllowed("Only a nurse or an administrator can check a patient in")


def require_may_complete(identity: Identity, provider_id: str) -> None:
    """The visit is completed by the doctor who gave it, or by a nurse."""
    if _is_their_doctor(identity, provider_id) or identity.has_role(NURSE):
        return
    raise NotAllowed("Only the appointment's doctor or a nurse can complete this appointment")


def require_may_mark_no_show(identity: Identity, provider_id: str) -> None:
    """Staff record a no-show: a nurse, an admin, or the appointment's doctor."""
    if _is_their_doctor(identity, provider_id) or identity.has_any_role(*CLINICAL_STAFF):
        return
    raise NotAllowed("Only clinic staff can record a no-show")


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


def require_may_cancel(identity: Identity, patient_id: str, provider_id: str) -> None:
    """The patient cancels their own visit; staff (a nurse, an admin, the appointment's doctor)
    cancel for the clinic or on the patient's behalf."""
    if (
        _is_owner(identity, patient_id)
        or _is_their_doctor(identity, provider_id)
        or identity.has_any_role(*CLINICAL_STAFF)
    ):
        return
    raise NotAllowed("Only the patient or clinic staff can cancel this appointment")

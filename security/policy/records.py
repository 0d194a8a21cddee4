"""Who may read which medical records, and who may attach files to them."""

from __future__ import annotations

from dataclasses import dataclass

from kernel.errors import NotAllowed
from security.identity import CLINICAL_STAFF, DOCTOR, NURSE, PATIENT, Identity

RECORD_REFUSED = "You do not have permission to access this medical record"


@dataclass(frozen=True)
class RecordAccess:
    """The medical records one caller may read: all of them, or those matching any field set.

    `patient_id`: that patient's own records. `provider_id`: the records that provider authored,
    and those of the patients in their care (a non-cancelled appointment with them).
    """

    all_records: bool = False
    patient_id: str | None = None
    provider_id: str | None = None


def record_access(identity: Identity) -> RecordAccess:
    """patient: their own. doctor: authored, or of patients in their care. nurse, admin: all.
    Anyone else: none."""
    if identity.has_role(PATIENT):
        return RecordAccess(patient_id=identity.user_id)
    if identity.has_role(DOCTOR):
        return RecordAccess(provider_id=identity.user_id)
    if identity.has_any_role(*CLINICAL_STAFF):
        return RecordAccess(all_records=True)
    return RecordAccess()


def require_record_visible(visible: bool) -> None:
    """403 unless the caller's `record_access` covers the (existing) record asked for."""
    if not visible:
        raise NotAllowed(RECORD_REFUSED)


def require_attachment_uploader(identity: Identity) -> None:
    if not identity.has_any_role(DOCTOR, NURSE):
        raise NotAllowed("Only doctors and nurses can attach files to records")


def require_record_author(identity: Identity) -> None:
    """Medical records are written and corrected by doctors."""
    if not identity.has_role(DOCTOR):
        raise NotAllowed("Only doctors can write or amend medical records")


def require_own_record(identity: Identity, author_id: str | None) -> None:
    """A record is corrected by the doctor who wrote it."""
    if identity.user_id != author_id:
        raise NotAllowed("Only the doctor who wrote this record can amend it")

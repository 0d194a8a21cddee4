"""Who may see or change what: ownership and role rules, one function per question.

Handlers never compare roles themselves; they call these and let `Forbidden` travel to the
error translator.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from models.record_queries import can_read_record
from portal.errors import Forbidden
from security.identity import DOCTOR, NURSE, PATIENT, Identity


def require_role(identity: Identity, *roles: str, message: str | None = None) -> None:
    if not identity.has_any_role(*roles):
        raise Forbidden(message)


def require_patient(identity: Identity, message: str = "Only patients can do this") -> None:
    require_role(identity, PATIENT, message=message)


def require_record_reader(session: Session, identity: Identity, record_id: str) -> None:
    """403 unless the caller may read that (existing) medical record."""
    if not can_read_record(session, identity.role, identity.user_id, record_id):
        raise Forbidden("You do not have permission to access this medical record")


def require_attachment_uploader(identity: Identity) -> None:
    require_role(
        identity, DOCTOR, NURSE, message="Only doctors and nurses can attach files to records"
    )

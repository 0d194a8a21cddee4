"""The patient's accounting of disclosures (45 CFR 164.528): every read or change of their
appointments, records, files and audit entries by a member of the staff (their refused attempts
too), from the audit trail."""

from __future__ import annotations

from sqlalchemy.orm import Session

from kernel.database import reads
from models.access_report import queries
from security import audit
from security.identity import Identity
from security.policy.roles import require_patient


@reads
def access_report(
    session: Session, identity: Identity, page: int, limit: int
) -> tuple[list[queries.Access], int]:
    """One page of who accessed the calling patient's data, newest first. Patients only: staff
    read the whole trail through the admins' listing (filtered by `subjectId`)."""
    require_patient(identity, "Only patients have an access report")
    audit.note(resource_id=identity.user_id, subject=identity.user_id)
    found, total = queries.accesses_of(session, identity.user_id, page, limit)
    audit.note(details={"count": len(found), "page": page})
    return found, total

"""The access report's statement: the audit entries that name a patient as their subject and
were written by someone else, with who that was."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models.accounts.tables import User
from models.audit.tables import AuditLog
from security.identity import ADMIN, DOCTOR, NURSE

# Whose requests the report lists: the staff's. The patient's own are not news to them, and
# another patient's refused attempt must not disclose that patient.
STAFF = (DOCTOR, NURSE, ADMIN)


@dataclass(frozen=True)
class Access:
    """One line of the report: when, who (their role then, and name), what, and the outcome."""

    timestamp: datetime
    role: str | None
    first_name: str | None
    last_name: str | None
    action: str
    resource: str
    resource_id: str | None
    status: str


def accesses_of(
    session: Session, patient_id: str, page: int, limit: int
) -> tuple[list[Access], int]:
    """One page of the entries about `patient_id` by members of the staff, newest first, and
    the total (by the subject index)."""
    about = (
        AuditLog.subject == patient_id,
        AuditLog.user_id != patient_id,
        AuditLog.user_role.in_(STAFF),
    )
    total = session.scalar(sa.select(sa.func.count()).select_from(AuditLog).where(*about))
    rows = session.execute(
        sa.select(
            AuditLog.timestamp,
            AuditLog.user_role,
            User.first_name,
            User.last_name,
            AuditLog.action,
            AuditLog.resource,
            AuditLog.resource_id,
            AuditLog.status,
        )
        .outerjoin(User, User.id == AuditLog.user_id)
        .where(*about)
        .order_by(AuditLog.timestamp.desc(), AuditLog.id.desc())
        .offset((page - 1) * limit)
        .limit(limit)
    ).all()
    return [Access(*row) for row in rows], int(total or 0)

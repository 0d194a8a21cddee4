"""The access report's statement: the audit entries that name a patient as their subject and
were written by someone else, with who that was."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models.accounts.tables import User
from models.audit.tables import AuditLog


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
    """One page of the entries about `patient_id` by anyone but the patient, newest first, and
    the total (by the subject index; the patient's own requests and anonymous ones are out)."""
    about = (AuditLog.subject == patient_id, AuditLog.user_id != patient_id)
    total = session.scalar(sa.select(sa.func.count()).select_from(AuditLog).where(*about))
    rows = session.execute(
        sa.select(
            AuditLog.timestamp,
            sa.func.coalesce(AuditLog.user_role, User.role),
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

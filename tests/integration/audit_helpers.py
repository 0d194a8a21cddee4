"""Reading the audit trail from tests (a fresh session each time, so SQLite's snapshot
isolation never hides entries committed by the request)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from models.audit import AuditLog
from portal.runtime import Services


def audit_entries(services: Services, **where: Any) -> list[AuditLog]:
    with services.db.new_session() as session:
        query = sa.select(AuditLog).filter_by(**where).order_by(AuditLog.id)
        return list(session.scalars(query))


def last_entry(services: Services, **where: Any) -> AuditLog:
    entries = audit_entries(services, **where)
    assert entries, f"no audit entry matching {where}"
    return entries[-1]

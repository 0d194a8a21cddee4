"""Reading the audit trail from tests (a fresh session each time, so SQLite's snapshot
isolation never hides entries committed by the request), sealed first, as verify reads it."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from models.audit.tables import AuditLog
from models.audit.use_cases import seal_now
from portal.runtime import Services


def audit_entries(services: Services, **where: Any) -> list[AuditLog]:
    seal_now(services.db, services.audit_chain)
    with services.db.new_session() as session:
        query = sa.select(AuditLog).filter_by(**where).order_by(AuditLog.id)
        return list(session.scalars(query))


def last_entry(services: Services, **where: Any) -> AuditLog:
    entries = audit_entries(services, **where)
    assert entries, f"no audit entry matching {where}"
    return entries[-1]

"""How audit entries look on the wire."""

from __future__ import annotations

from typing import Any

from handlers.wire.formats import iso_datetime
from models.access_report.queries import Access
from models.audit.tables import AuditLog


def entry(found: AuditLog) -> dict[str, Any]:
    return {
        "id": found.id,
        "timestamp": iso_datetime(found.timestamp),
        "userId": found.user_id,
        "userRole": found.user_role,
        "action": found.action,
        "resource": found.resource,
        "resourceId": found.resource_id,
        "ip": found.ip,
        "userAgent": found.user_agent,
        "requestId": found.request_id,
        "status": found.status,
        "details": found.details,
        "hash": found.hash,
        "subjectId": found.subject,
    }


def access(found: Access) -> dict[str, Any]:
    """One line of a patient's access report: who on the staff, when, what, with what outcome."""
    names = [n for n in (found.first_name, found.last_name) if n]
    return {
        "timestamp": iso_datetime(found.timestamp),
        "actor": {"role": found.role, "name": " ".join(names) or None},
        "action": found.action,
        "resource": found.resource,
        "resourceId": found.resource_id,
        "outcome": found.status,
    }

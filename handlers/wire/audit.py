"""How audit entries look on the wire."""

from __future__ import annotations

from typing import Any

from handlers.wire.formats import iso_datetime
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

"""Administration: reading the audit trail (admins only; the read is itself audited)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from handlers.formats import iso_datetime, page_headers, pagination
from models.audit import AuditFilters, AuditLog, search_audit_logs
from portal.runtime import services
from security import audit, policy
from security.identity import Identity


def audit_entry_json(entry: AuditLog) -> dict[str, Any]:
    return {
        "id": entry.id,
        "timestamp": iso_datetime(entry.timestamp),
        "userId": entry.user_id,
        "userRole": entry.user_role,
        "action": entry.action,
        "resource": entry.resource,
        "resourceId": entry.resource_id,
        "ip": entry.ip,
        "userAgent": entry.user_agent,
        "requestId": entry.request_id,
        "status": entry.status,
        "details": entry.details,
        "hash": entry.hash,
    }


def _clinic_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=services().settings.clinic_zone)


def list_audit_logs(
    token_info: dict[str, Any],
    page: int = 1,
    limit: int = 20,
    user_id: str | None = None,
    action: str | None = None,
    resource_id: str | None = None,
    start_date: str | None = None,
    end_date: str | None = None,
) -> tuple[dict[str, Any], int, dict[str, str]]:
    identity = Identity.from_token_info(token_info)
    policy.require_admin(identity, "Only administrators can read the audit trail")
    start = date.fromisoformat(start_date) if start_date else None
    end = date.fromisoformat(end_date) if end_date else None
    filters = AuditFilters(
        user_id=user_id,
        action=action,
        resource_id=resource_id,
        since=_clinic_midnight(start) if start else None,
        until=_clinic_midnight(end + timedelta(days=1)) if end else None,
    )
    audit.note(
        details={
            k: v
            for k, v in {
                "userId": user_id,
                "action": action,
                "resourceId": resource_id,
                "startDate": start_date,
                "endDate": end_date,
                "page": page,
            }.items()
            if v is not None
        }
    )
    audit.seal_now(services().db)  # every entry listed shows its hash
    entries, total = search_audit_logs(services().db.session(), filters, page, limit)
    body = {
        "data": [audit_entry_json(e) for e in entries],
        "pagination": pagination(page, limit, total),
    }
    return body, 200, page_headers(page, limit, total)

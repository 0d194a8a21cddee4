"""Administration: reading the audit trail and the notification outbox (admins only; each read
is itself audited)."""

from __future__ import annotations

from datetime import date
from typing import Any

from handlers import dependencies
from handlers.wire import audit as wire
from handlers.wire import notifications as notifications_wire
from handlers.wire.formats import page_headers, pagination
from models.audit import use_cases
from models.audit.queries import AuditFilters
from models.notifications import use_cases as notifications
from security.identity import Identity


def list_audit_logs(
    token_info: dict[str, Any],
    page: int = 1,
    limit: int = 20,
    user_id: str | None = None,
    action: str | None = None,
    resource_id: str | None = None,
    subject_id: str | None = None,
    start_date: str | None = None,
    end_date: str | None = None,
) -> tuple[dict[str, Any], int, dict[str, str]]:
    current = dependencies.current()
    filters = AuditFilters(
        user_id=user_id,
        action=action,
        resource_id=resource_id,
        subject_id=subject_id,
        start_date=date.fromisoformat(start_date) if start_date else None,
        end_date=date.fromisoformat(end_date) if end_date else None,
    )
    entries, total = use_cases.list_entries(
        current.db,
        current.audit_chain,
        Identity.from_token_info(token_info),
        filters,
        current.settings.clinic_zone,
        page,
        limit,
    )
    body = {"data": [wire.entry(e) for e in entries], "pagination": pagination(page, limit, total)}
    return body, 200, page_headers(page, limit, total)


def list_notifications(
    token_info: dict[str, Any], status: str | None = None, page: int = 1, limit: int = 20
) -> tuple[dict[str, Any], int, dict[str, str]]:
    messages, total = notifications.list_messages(
        dependencies.current().db, Identity.from_token_info(token_info), status, page, limit
    )
    body = {
        "data": [notifications_wire.message(m) for m in messages],
        "pagination": pagination(page, limit, total),
    }
    return body, 200, page_headers(page, limit, total)

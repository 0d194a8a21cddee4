"""GET /api/admin/audit-logs: admins only, filtered, paginated, and itself audited."""

from __future__ import annotations

from datetime import UTC, datetime

import time_machine

from models.audit.queries import append
from portal.runtime import Services
from security.audit import AuditRecord
from tests.support.audit import audit_entries, last_entry


def _add(services: Services, when: datetime, **fields) -> None:
    record = AuditRecord(status=fields.pop("status", "success"), **fields)
    services.db.run(lambda session: append(session, record, when))


def _fill(services: Services, user_id: str) -> None:
    _add(services, datetime(2026, 11, 20, 15, tzinfo=UTC), action="READ_APPOINTMENT",
         resource="appointments", resource_id="a-1", user_id=user_id)  # fmt: skip
    _add(services, datetime(2026, 11, 22, 15, tzinfo=UTC), action="CREATE_APPOINTMENT",
         resource="appointments", resource_id="a-2", user_id=user_id)  # fmt: skip
    _add(services, datetime(2026, 11, 24, 15, tzinfo=UTC), action="READ_APPOINTMENT",
         resource="appointments", resource_id="a-2", user_id="someone-else")  # fmt: skip


def test_non_admins_are_refused_and_the_refusal_is_audited(client, services: Services, auth):
    for email in ("patient1@example.com", "doctor1@example.com", "nurse1@example.com"):
        response = client.get("/api/admin/audit-logs", headers=auth(email))
        assert response.status_code == 403, email
        assert response.json()["error"]["code"] == "AUTHORIZATION_ERROR"
    denied = audit_entries(services, action="READ_AUDIT_LOGS")
    assert [e.status for e in denied] == ["denied"] * 3
    assert [e.user_role for e in denied] == ["patient", "doctor", "nurse"]


@time_machine.travel(datetime(2026, 11, 25, 17, tzinfo=UTC), tick=False)
def test_admins_read_newest_first_with_filters_and_pages(client, services: Services, auth):
    patient = auth.user("patient1@example.com")
    _fill(services, patient.id)
    headers = auth("admin@example.com")

    everything = client.get("/api/admin/audit-logs", headers=headers)
    assert everything.status_code == 200
    assert everything.headers["Cache-Control"] == "no-store"
    assert [e["resourceId"] for e in everything.json()["data"]] == ["a-2", "a-2", "a-1"]
    first = everything.json()["data"][-1]
    assert first["timestamp"] == "2026-11-20T15:00:00Z"
    assert first["userId"] == patient.id and first["status"] == "success"

    by_user = client.get(f"/api/admin/audit-logs?userId={patient.id}", headers=headers).json()
    assert [e["resourceId"] for e in by_user["data"]] == ["a-2", "a-1"]
    by_action = client.get("/api/admin/audit-logs?action=CREATE_APPOINTMENT", headers=headers)
    assert [e["resourceId"] for e in by_action.json()["data"]] == ["a-2"]
    by_resource = client.get("/api/admin/audit-logs?resourceId=a-1", headers=headers).json()
    assert [e["action"] for e in by_resource["data"]] == ["READ_APPOINTMENT"]
    by_dates = client.get(
        "/api/admin/audit-logs?startDate=2026-11-21&endDate=2026-11-22", headers=headers
    ).json()
    assert [e["resourceId"] for e in by_dates["data"]] == ["a-2"]
    assert by_dates["data"][0]["action"] == "CREATE_APPOINTMENT"

    page = client.get(
        "/api/admin/audit-logs?resource=x&page=2&limit=2&action=READ_APPOINTMENT", headers=headers
    )
    assert page.status_code == 400  # unknown query parameter: strict validation
    page = client.get(
        "/api/admin/audit-logs?page=2&limit=1&action=READ_APPOINTMENT", headers=headers
    )
    assert page.json()["pagination"] == {"page": 2, "limit": 1, "total": 2, "totalPages": 2}
    assert [e["resourceId"] for e in page.json()["data"]] == ["a-1"]
    assert (page.headers["X-Total-Count"], page.headers["X-Page"], page.headers["X-Per-Page"]) == (
        "2", "2", "1",
    )  # fmt: skip


def test_the_read_is_itself_audited(client, services: Services, auth):
    headers = auth("admin@example.com")
    response = client.get("/api/admin/audit-logs?action=LOGIN&page=1", headers=headers)
    assert response.status_code == 200
    entry = last_entry(services, action="READ_AUDIT_LOGS")
    assert entry.status == "success"
    assert entry.user_role == "admin"
    assert entry.details == {"action": "LOGIN", "page": 1, "count": len(response.json()["data"])}
    # The next read sees the previous read's entry.
    seen = client.get("/api/admin/audit-logs?action=READ_AUDIT_LOGS", headers=headers).json()
    assert seen["pagination"]["total"] == 1


def test_a_reversed_date_range_is_an_empty_range(client, auth):
    # as in every list of the API: no day is both on/after startDate and on/before endDate
    response = client.get(
        "/api/admin/audit-logs?startDate=2026-11-22&endDate=2026-11-21",
        headers=auth("admin@example.com"),
    )
    assert response.status_code == 200
    assert response.json()["data"] == [] and response.json()["pagination"]["total"] == 0

"""Every PHI operation of the spec, called through HTTP, leaves an audit entry with its action,
whatever the outcome. Operations whose handler is not written yet (501) are skipped; an
operation without an example request here fails, so new PHI operations cannot slip by."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import pytest

from kernel.clock import utcnow
from portal.runtime import Services
from tests.conftest import DEMO_PASSWORD
from tests.support.audit import audit_entries
from tests.support.spec import phi_operations

# A bookable day whenever the suite runs.
SOON = (utcnow() + timedelta(days=7)).date().isoformat()

# operationId -> (caller, request keyword arguments); path parameters become random uuids.
EXAMPLES: dict[str, tuple[str, dict[str, Any]]] = {
    "listAppointments": ("patient1@example.com", {}),
    "createAppointment": (
        "patient1@example.com",
        {
            "json": {
                "providerId": str(uuid.uuid4()),
                "date": SOON,
                "time": "10:00 AM",
                "type": "routine_checkup",
                "reason": "Annual physical examination",
            }
        },
    ),
    "getAppointment": ("patient1@example.com", {}),
    "getAppointmentCalendar": ("patient1@example.com", {}),
    "rescheduleAppointment": (
        "patient1@example.com",
        {"json": {"date": SOON, "time": "10:00 AM"}},
    ),
    "cancelAppointment": ("patient1@example.com", {"json": {"reason": "Feeling much better"}}),
    "confirmAppointment": ("patient1@example.com", {}),
    "checkInAppointment": ("nurse1@example.com", {"json": {"expectedStatus": "scheduled"}}),
    "completeAppointment": ("nurse1@example.com", {}),
    "markAppointmentNoShow": ("admin@example.com", {}),
    "listMedicalRecords": ("patient1@example.com", {}),
    "createMedicalRecord": (
        "doctor1@example.com",
        {
            "json": {
                "patientId": str(uuid.uuid4()),
                "type": "visit_note",
                "title": "Follow-up visit",
                "date": "2025-01-15",
            }
        },
    ),
    "amendMedicalRecord": (
        "doctor1@example.com",
        {"json": {"reason": "The dose was recorded wrongly", "title": "Follow-up"}},
    ),
    "listMedicalRecordVersions": ("patient1@example.com", {}),
    "uploadAttachment": (
        "doctor1@example.com",
        {"files": {"file": ("note.txt", b"plain text note", "text/plain")}},
    ),
    "downloadAttachment": ("patient1@example.com", {}),
    "listConsents": ("patient1@example.com", {}),
    "grantConsent": ("patient1@example.com", {"json": {"type": "telehealth"}}),
    "revokeConsent": ("patient1@example.com", {}),
    "listAuditLogs": ("admin@example.com", {}),
    "listWaitlist": ("patient1@example.com", {}),
    "joinWaitlist": (
        "patient1@example.com",
        {
            "json": {
                "specialty": "cardiology",
                "startDate": SOON,
                "endDate": SOON,
                "type": "consultation",
                "reason": "Hoping to be seen sooner",
            }
        },
    ),
    "leaveWaitlist": ("patient1@example.com", {}),
    "listWaitlistOffers": ("patient1@example.com", {}),
    "acceptWaitlistOffer": ("patient1@example.com", {}),
    "declineWaitlistOffer": ("patient1@example.com", {}),
    "listNotifications": ("admin@example.com", {}),
    # Not a PHI tag (auth), so not walked today; here for when the walk covers every x-audit.
    "changePassword": (
        "patient1@example.com",
        {"json": {"currentPassword": DEMO_PASSWORD, "newPassword": "a-longer-passphrase-2026"}},
    ),
}

OPERATIONS = [
    pytest.param(path, method, operation, id=operation["operationId"])
    for path, method, operation in phi_operations()
]


@pytest.mark.parametrize("path, method, operation", OPERATIONS)
def test_the_operation_writes_an_audit_entry(
    client, services: Services, auth, path, method, operation
):
    operation_id = operation["operationId"]
    assert operation_id in EXAMPLES, f"add an example request for {operation_id}"
    email, request = EXAMPLES[operation_id]
    url = re.sub(r"\{[^}]+\}", lambda _: str(uuid.uuid4()), path)
    response = client.request(method.upper(), url, headers=auth(email), **request)
    if response.status_code == 501:
        pytest.skip(f"{operation_id} is not implemented yet")
    assert response.status_code != 400, response.text  # the example must reach the handler
    action = operation["x-audit"]["action"]
    entries = audit_entries(services, action=action)
    assert entries, f"{operation_id} answered {response.status_code} without an audit entry"
    entry = entries[-1]
    assert entry.resource == operation["x-audit"]["resource"]
    assert entry.user_id == auth.user(email).id
    expected = {"success"} if response.status_code < 400 else {"denied", "failure"}
    assert entry.status in expected

"""How an exception leaving a handler is recorded: HTTP status, error code, audit status."""

from __future__ import annotations

import pytest
from connexion.exceptions import BadRequestProblem
from werkzeug.exceptions import NotFound as WerkzeugNotFound

from kernel.errors import NotAllowed, NotFound, Unavailable
from portal.web.audit import error_details as _error_details
from portal.web.audit import outcome_of as _status_of


@pytest.mark.parametrize(
    "exc, status, details",
    [
        (NotAllowed(), "denied", {"httpStatus": 403, "error": "AUTHORIZATION_ERROR"}),
        (NotFound(), "failure", {"httpStatus": 404, "error": "NOT_FOUND"}),
        (Unavailable(), "failure", {"httpStatus": 503, "error": "SERVICE_UNAVAILABLE"}),
        (
            BadRequestProblem(detail="x"),
            "failure",
            {"httpStatus": 400, "error": "VALIDATION_ERROR"},
        ),
        (WerkzeugNotFound(), "failure", {"httpStatus": 404, "error": "NOT_FOUND"}),
        (RuntimeError("bug"), "failure", {"httpStatus": 500, "error": "INTERNAL_SERVER_ERROR"}),
    ],
)
def test_outcomes(exc: Exception, status: str, details: dict[str, object]):
    assert _status_of(exc) == status
    assert _error_details(exc) == details


def test_details_are_stored_as_json_reads_them_back():
    from datetime import date
    from uuid import UUID

    from security.audit import AuditEvent, AuditRecord

    event = AuditEvent(AuditRecord(action="READ_APPOINTMENT", resource="appointments", status=""))
    event.details.update({"date": date(2026, 12, 1), "providerId": UUID(int=1), "n": 2})
    assert event.record("success").details == {
        "date": "2026-12-01",
        "providerId": "00000000-0000-0000-0000-000000000001",
        "n": 2,
    }

"""Helpers shared by the providers API tests: the frozen clinic clock and direct bookings."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models import Appointment, User

SEARCH = "/api/appointments/search-providers"
# Wednesday 2026-11-25 (the seed day), 09:00 in New York.
SEED_MORNING = datetime(2026, 11, 25, 14, 0, tzinfo=UTC)


def slots_url(provider_id: str) -> str:
    return f"/api/providers/{provider_id}/available-slots"


def user_id(session: Session, email: str) -> str:
    found = session.scalar(sa.select(User.id).where(User.email == email))
    assert found is not None, email
    return found


def book(
    session: Session,
    provider_id: str,
    day: date,
    start: time,
    *,
    duration: int = 30,
    status: str = "scheduled",
) -> None:
    """A booking written straight to the database (the booking API is another issue's)."""
    session.add(
        Appointment(
            patient_id=user_id(session, "patient2@example.com"),
            provider_id=provider_id,
            date=day,
            start_time=start,
            type="consultation",
            status=status,
            reason="Booked directly by the providers tests",
            duration=duration,
        )
    )
    session.commit()


def last_names(body: dict[str, Any]) -> list[str]:
    return [provider["lastName"] for provider in body["data"]]


def search(client, headers: dict[str, str], **body: object) -> dict:  # type: ignore[no-untyped-def,type-arg]
    """The body of a successful provider search with `body`."""
    response = client.post(SEARCH, json=body, headers=headers)
    assert response.status_code == 200, response.text
    return response.json()


def validation_fields(response) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """{field: message} of a 400 VALIDATION_ERROR answer."""
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    return {d["field"]: d["message"] for d in error["details"]}

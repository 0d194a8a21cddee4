"""Helpers of the schedule tests: the operations' URLs, bodies, and the rows they leave."""

from __future__ import annotations

from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models import ProviderAvailability, ProviderProfile
from models.appointments.tables import ProviderExtraHours, ProviderTimeOff

# Days with no seeded booking of doctor1 (schedule 0: weekdays 09:00-12:00, 13:00-17:00).
MONDAY = date(2027, 1, 11)
SATURDAY = date(2027, 1, 16)


def schedule_url(provider_id: str, part: str, row_id: str | None = None) -> str:
    """`part`: availability, time-off or extra-hours."""
    url = f"/api/providers/{provider_id}/{part}"
    return url if row_id is None else f"{url}/{row_id}"


def slots_on(client, headers, provider_id: str, day: date) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    response = client.get(
        f"/api/providers/{provider_id}/available-slots",
        params={"date": day.isoformat()},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def windows_body(windows: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """A replaceProviderAvailability body from windows as getProviderAvailability gives them."""
    keys = ("dayOfWeek", "startTime", "endTime", "locationId", "isActive")
    return {"windows": [{k: w[k] for k in keys} for w in windows], **extra}


def schedule_rows(session: Session, provider_id: str) -> dict[str, int]:
    """How many weekly windows, time off and extra hours rows the provider has (committed)."""
    session.rollback()
    profile = session.scalar(
        sa.select(ProviderProfile.id).where(ProviderProfile.user_id == provider_id)
    )
    return {
        name: session.scalar(
            sa.select(sa.func.count()).select_from(table).where(table.provider_id == profile)
        )
        or 0
        for name, table in (
            ("availability", ProviderAvailability),
            ("time-off", ProviderTimeOff),
            ("extra-hours", ProviderExtraHours),
        )
    }


WEST_ZONE = "America/Los_Angeles"


def add_west_coast_doctor(session: Session) -> str:
    """The seed's doctor at a San Francisco location (Pacific time), weekdays 08:00-12:00 and
    13:00-15:00 there; their user id."""
    from models import User
    from portal.ops.demo.data import WEST_DOCTOR

    user_id = session.scalar(sa.select(User.id).where(User.email == WEST_DOCTOR))
    assert user_id is not None, "the seed adds the west-coast doctor"
    return user_id

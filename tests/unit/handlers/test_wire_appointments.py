"""The appointment detail's provider block (`handlers.wire.appointments`)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from handlers.wire.appointments import detail
from models.appointments.queries.appointments import AppointmentDetail

_AT = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)


def _detail(**provider: object) -> AppointmentDetail:
    values: dict[str, object] = {
        "id": "a1", "patient_id": "p1", "provider_id": "d1", "date": date(2026, 3, 5),
        "start_time": time(9, 30), "type": "routine_checkup", "status": "scheduled",
        "reason": "Yearly check", "notes": None, "is_virtual": False, "time_zone": None,
        "location": "Main", "duration": 30, "check_in_time": None, "check_out_time": None,
        "created_at": _AT, "updated_at": _AT, "virtual_meeting_url": None,
        "cancellation_reason": None, "cancelled_at": None,
        "provider_first_name": "Ann", "provider_last_name": "Lee",
        "provider_phone": "555-0101", "provider_email": "ann@example.com",
        "specialty": None, "title": None, "npi": None, "photo_url": None,
        "profile_phone": None, "profile_email": None,
    }  # fmt: skip
    return AppointmentDetail(**{**values, **provider})  # type: ignore[arg-type]


def test_a_provider_without_a_profile_is_named_with_the_accounts_contact():
    shown = detail(_detail(), "America/New_York")
    assert shown["provider"] == {
        "id": "d1", "firstName": "Ann", "lastName": "Lee", "title": None, "specialty": "",
        "npi": None, "photoUrl": None, "phone": "555-0101", "email": "ann@example.com",
    }  # fmt: skip
    assert shown["timeZone"] == "America/New_York" and shown["time"] == "09:30 AM"


def test_the_profiles_contact_comes_first():
    shown = detail(
        _detail(specialty="cardiology", title="Dr.", profile_phone="555-0199", profile_email=None),
        "UTC",
    )["provider"]
    assert (shown["phone"], shown["email"], shown["title"]) == (
        "555-0199",
        "ann@example.com",
        "Dr.",
    )
    assert shown["specialty"] == "Cardiology"

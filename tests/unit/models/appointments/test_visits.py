"""Appointment rules with no I/O: durations, when a visit may still move or be cancelled
(judged in the clinic's zone, across daylight-saving changes), and who may see or change it."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from kernel.errors import NotAllowed
from models.appointments.rules.slots import Booking, Window, free_slots, starts_at
from models.appointments.rules.visits import (
    APPOINTMENT_TYPES,
    duration_for,
    is_virtual_visit,
    refusal_to_cancel,
    refusal_to_reschedule,
)
from security.identity import Identity
from security.policy.appointments import (
    AppointmentScope,
    appointment_scope,
    require_appointment_owner,
    require_appointment_viewer,
)

NY = ZoneInfo("America/New_York")
PATIENT = Identity("p1", "p1@example.com", "patient")
OTHER_PATIENT = Identity("p2", "p2@example.com", "patient")
DOCTOR = Identity("d1", "d1@example.com", "doctor")
OTHER_DOCTOR = Identity("d2", "d2@example.com", "doctor")
NURSE = Identity("n1", "n1@example.com", "nurse")
ADMIN = Identity("a1", "a1@example.com", "admin")


def test_procedures_take_an_hour_and_everything_else_half_an_hour() -> None:
    assert duration_for("procedure") == 60
    assert {duration_for(t) for t in APPOINTMENT_TYPES if t != "procedure"} == {30}


def test_telehealth_is_always_virtual() -> None:
    assert is_virtual_visit("telehealth", False)
    assert is_virtual_visit("routine_checkup", True)
    assert not is_virtual_visit("routine_checkup", False)


def test_a_booked_procedure_blocks_every_start_it_overlaps() -> None:
    day = date(2026, 12, 7)
    now = datetime(2026, 12, 1, tzinfo=UTC)
    slots = free_slots([Window(time(9), time(12))], [Booking(time(10), 60)], day, 60, now, NY)
    assert slots == [time(9), time(11)]


START = starts_at(date(2026, 12, 2), time(9), NY)  # 14:00 UTC


@pytest.mark.parametrize(
    ("status", "now", "allowed"),
    [
        ("scheduled", datetime(2026, 12, 2, 6, 59, tzinfo=NY), True),
        ("confirmed", datetime(2026, 12, 2, 7, 0, tzinfo=NY), True),
        ("scheduled", datetime(2026, 12, 2, 7, 1, tzinfo=NY), False),  # under 2 hours left
        ("scheduled", datetime(2026, 12, 2, 9, 0, tzinfo=NY), False),  # past
        ("cancelled", datetime(2026, 11, 25, tzinfo=NY), False),
        ("completed", datetime(2026, 11, 25, tzinfo=NY), False),
        ("no_show", datetime(2026, 11, 25, tzinfo=NY), False),
        ("checked_in", datetime(2026, 11, 25, tzinfo=NY), False),
    ],
)
def test_when_an_appointment_may_be_rescheduled(status, now, allowed) -> None:
    assert (refusal_to_reschedule(status, START, now) is None) is allowed


def test_reschedule_refusals_name_the_reason() -> None:
    early = datetime(2026, 11, 25, tzinfo=NY)
    assert "cancelled" in refusal_to_reschedule("cancelled", START, early)
    assert "past" in refusal_to_reschedule("scheduled", START, datetime(2026, 12, 3, tzinfo=NY))
    assert "2 hours" in refusal_to_reschedule(
        "scheduled", START, datetime(2026, 12, 2, 8, tzinfo=NY)
    )


def test_two_hour_notice_across_the_spring_forward_gap() -> None:
    # 2027-03-14 New York: 02:00 EST jumps to 03:00 EDT. A 04:00 visit is 2 real hours after
    # 01:00 EST, although the wall clocks differ by 3.
    start = starts_at(date(2027, 3, 14), time(4), NY)
    assert refusal_to_reschedule("scheduled", start, datetime(2027, 3, 14, 1, 0, tzinfo=NY)) is None
    one_past = datetime(2027, 3, 14, 6, 1, tzinfo=UTC)  # 01:01 EST
    assert refusal_to_reschedule("scheduled", start, one_past) is not None


def test_two_hour_notice_across_the_fall_back_repeat() -> None:
    # 2026-11-01 New York: 02:00 EDT becomes 01:00 EST; 00:30 -> 02:00 local is 2.5 real hours,
    # 00:30 -> 01:30 (taken as the first, EDT, 01:30) is 1 hour.
    now = datetime(2026, 11, 1, 0, 30, tzinfo=NY)
    assert (
        refusal_to_reschedule("scheduled", starts_at(date(2026, 11, 1), time(2), NY), now) is None
    )
    assert refusal_to_reschedule("scheduled", starts_at(date(2026, 11, 1), time(1, 30), NY), now)


@pytest.mark.parametrize(
    ("status", "now", "allowed"),
    [
        ("scheduled", datetime(2026, 12, 2, 8, 59, tzinfo=NY), True),  # no notice needed
        ("confirmed", datetime(2026, 11, 25, tzinfo=NY), True),
        ("scheduled", datetime(2026, 12, 2, 9, 0, tzinfo=NY), False),
        ("cancelled", datetime(2026, 11, 25, tzinfo=NY), False),
        ("completed", datetime(2026, 11, 25, tzinfo=NY), False),
    ],
)
def test_when_an_appointment_may_be_cancelled(status, now, allowed) -> None:
    assert (refusal_to_cancel(status, START, now) is None) is allowed


def test_past_is_judged_as_an_instant_not_a_wall_clock() -> None:
    # 13:59 UTC is 08:59 in New York: the 09:00 visit has not started yet.
    assert refusal_to_cancel("scheduled", START, datetime(2026, 12, 2, 13, 59, tzinfo=UTC)) is None
    assert refusal_to_cancel("scheduled", START, datetime(2026, 12, 2, 14, 0, tzinfo=UTC))


@pytest.mark.parametrize(
    ("identity", "allowed"),
    [
        (PATIENT, True),
        (OTHER_PATIENT, False),
        (DOCTOR, True),
        (OTHER_DOCTOR, False),
        (NURSE, True),
        (ADMIN, True),
    ],
)
def test_who_may_view_an_appointment(identity, allowed) -> None:
    if allowed:
        require_appointment_viewer(identity, patient_id="p1", provider_id="d1")
    else:
        with pytest.raises(NotAllowed):
            require_appointment_viewer(identity, patient_id="p1", provider_id="d1")


@pytest.mark.parametrize("identity", [OTHER_PATIENT, DOCTOR, NURSE, ADMIN])
def test_only_the_owning_patient_changes_an_appointment(identity) -> None:
    require_appointment_owner(PATIENT, "p1")
    with pytest.raises(NotAllowed):
        require_appointment_owner(identity, "p1")


def test_a_doctor_cannot_change_an_appointment_even_with_the_patients_id() -> None:
    impostor = Identity("p1", "x@example.com", "doctor")
    with pytest.raises(NotAllowed):
        require_appointment_owner(impostor, "p1")


def test_listing_scope_by_role() -> None:
    assert appointment_scope(PATIENT) == AppointmentScope(patient_id="p1")
    assert appointment_scope(DOCTOR) == AppointmentScope(provider_id="d1")
    assert appointment_scope(NURSE) == AppointmentScope()
    shouting = Identity.from_token_info({"userId": "a", "email": "a@example.com", "role": "ADMIN"})
    assert appointment_scope(shouting) == AppointmentScope()
    with pytest.raises(NotAllowed):
        appointment_scope(Identity("x", "x@example.com", "janitor"))

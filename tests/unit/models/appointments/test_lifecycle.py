"""The lifecycle's state machine and time rules, with no I/O: which status each step leaves from,
the check-in window and the no-show grace around a fixed start, the FHIR mapping, and who may
take each step."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from kernel.errors import InvalidInput, NotAllowed
from models.appointments.rules.lifecycle import (
    CANCEL,
    CHECK_IN,
    COMPLETE,
    CONFIRM,
    FHIR_STATUS,
    NO_SHOW,
    TRANSITIONS,
    LifecycleTimes,
    refusal_to_transition,
    status_refusal,
    time_refusal,
)
from models.appointments.rules.visits import APPOINTMENT_STATUSES
from security.identity import Identity
from security.policy.appointments import (
    require_appointment_changer,
    require_booking_for,
    require_may_cancel,
    require_may_check_in,
    require_may_complete,
    require_may_confirm,
    require_may_mark_no_show,
)

NY = ZoneInfo("America/New_York")
START = datetime(2026, 11, 25, 10, 0, tzinfo=NY)
TIMES = LifecycleTimes(check_in_opens=timedelta(minutes=60), no_show_grace=timedelta(minutes=15))
PATIENT = Identity("p1", "p1@example.com", "patient")
OTHER_PATIENT = Identity("p2", "p2@example.com", "patient")
DOCTOR = Identity("d1", "d1@example.com", "doctor")
OTHER_DOCTOR = Identity("d2", "d2@example.com", "doctor")
NURSE = Identity("n1", "n1@example.com", "nurse")
ADMIN = Identity("a1", "a1@example.com", "admin")

# The whole machine, written out independently of the module: step -> statuses it leaves from.
EXPECTED_SOURCES = {
    "confirm": {"scheduled"},
    "check_in": {"scheduled", "confirmed"},
    "complete": {"checked_in"},
    "no_show": {"scheduled", "confirmed"},
    "cancel": {"scheduled", "confirmed"},
}
EXPECTED_TARGETS = {
    "confirm": "confirmed",
    "check_in": "checked_in",
    "complete": "completed",
    "no_show": "no_show",
    "cancel": "cancelled",
}


@pytest.mark.parametrize("name", sorted(EXPECTED_SOURCES))
@pytest.mark.parametrize("status", APPOINTMENT_STATUSES)
def test_each_step_leaves_only_from_its_statuses(name: str, status: str) -> None:
    transition = TRANSITIONS[name]
    refusal = status_refusal(transition, status)
    if status in EXPECTED_SOURCES[name]:
        assert refusal is None
    else:
        assert refusal is not None
        assert refusal.endswith(f"its status is {status}")  # the current status is named
    assert transition.target == EXPECTED_TARGETS[name]


def test_finished_statuses_have_no_way_out() -> None:
    for status in ("completed", "cancelled", "no_show"):
        assert all(status_refusal(t, status) for t in TRANSITIONS.values())


def test_every_status_has_a_fhir_r4_spelling() -> None:
    assert FHIR_STATUS == {
        "scheduled": "booked",
        "confirmed": "booked",
        "checked_in": "arrived",
        "completed": "fulfilled",
        "no_show": "noshow",
        "cancelled": "cancelled",
    }
    assert set(FHIR_STATUS) == set(APPOINTMENT_STATUSES)


@pytest.mark.parametrize(
    "minutes_from_start, allowed",
    [(-61, False), (-60, True), (-1, True), (0, True), (29, True), (30, True), (31, False)],
)
def test_check_in_opens_an_hour_before_the_start_and_closes_at_the_end(
    minutes_from_start: int, allowed: bool
) -> None:
    now = START + timedelta(minutes=minutes_from_start)
    refusal = time_refusal(CHECK_IN, START, 30, now, TIMES)
    assert (refusal is None) is allowed


def test_the_check_in_window_follows_the_setting() -> None:
    early = START - timedelta(minutes=90)
    assert time_refusal(CHECK_IN, START, 30, early, TIMES) is not None
    wide = LifecycleTimes(check_in_opens=timedelta(minutes=120))
    assert time_refusal(CHECK_IN, START, 30, early, wide) is None


@pytest.mark.parametrize(
    "minutes_from_start, allowed", [(-30, False), (0, False), (14, False), (15, True), (600, True)]
)
def test_a_no_show_waits_for_the_grace_period(minutes_from_start: int, allowed: bool) -> None:
    now = START + timedelta(minutes=minutes_from_start)
    assert (time_refusal(NO_SHOW, START, 30, now, TIMES) is None) is allowed


def test_confirming_is_for_before_the_start() -> None:
    assert time_refusal(CONFIRM, START, 30, START - timedelta(minutes=1), TIMES) is None
    assert time_refusal(CONFIRM, START, 30, START, TIMES) is not None


def test_completing_has_no_time_rule_and_cancel_keeps_its_own() -> None:
    assert time_refusal(COMPLETE, START, 30, START + timedelta(days=1), TIMES) is None
    assert time_refusal(CANCEL, START, 30, START + timedelta(days=1), TIMES) is None


def test_the_status_is_judged_before_the_clock() -> None:
    refusal = refusal_to_transition(CHECK_IN, "cancelled", START, 30, START, TIMES)
    assert refusal == "Cannot check in this appointment: its status is cancelled"
    too_early = refusal_to_transition(
        CHECK_IN, "scheduled", START, 30, START - timedelta(hours=3), TIMES
    )
    assert too_early is not None and "60 minutes" in too_early


def test_the_rules_compare_instants_across_zones() -> None:
    utc_now = (START - timedelta(minutes=30)).astimezone(ZoneInfo("UTC"))
    assert time_refusal(CHECK_IN, START, 30, utc_now, TIMES) is None


def allowed(check, *args) -> bool:  # type: ignore[no-untyped-def]
    try:
        check(*args)
    except NotAllowed:
        return False
    return True


def test_who_confirms() -> None:
    assert [
        allowed(require_may_confirm, who, "p1")
        for who in (PATIENT, OTHER_PATIENT, DOCTOR, NURSE, ADMIN)
    ] == [True, False, False, True, True]


def test_who_checks_in() -> None:
    assert [allowed(require_may_check_in, who) for who in (PATIENT, DOCTOR, NURSE, ADMIN)] == [
        False,
        False,
        True,
        True,
    ]


def test_who_completes() -> None:
    assert [
        allowed(require_may_complete, who, "d1")
        for who in (PATIENT, DOCTOR, OTHER_DOCTOR, NURSE, ADMIN)
    ] == [False, True, False, True, False]


def test_who_records_a_no_show() -> None:
    assert [
        allowed(require_may_mark_no_show, who, "d1")
        for who in (PATIENT, DOCTOR, OTHER_DOCTOR, NURSE, ADMIN)
    ] == [False, True, False, True, True]


def test_who_cancels_and_who_moves() -> None:
    people = (PATIENT, OTHER_PATIENT, DOCTOR, OTHER_DOCTOR, NURSE, ADMIN)
    assert [allowed(require_may_cancel, who, "p1", "d1") for who in people] == [
        True,
        False,
        True,
        False,
        True,
        True,
    ]
    assert [allowed(require_appointment_changer, who, "p1") for who in people] == [
        True,
        False,
        False,
        False,
        True,
        True,
    ]


def test_who_books_for_whom() -> None:
    assert require_booking_for(PATIENT, None) == "p1"
    assert require_booking_for(PATIENT, "p1") == "p1"
    assert not allowed(require_booking_for, PATIENT, "p2")
    assert require_booking_for(NURSE, "p2") == "p2"
    assert require_booking_for(ADMIN, "p2") == "p2"
    assert not allowed(require_booking_for, DOCTOR, "p2")
    assert not allowed(require_booking_for, DOCTOR, None)
    with pytest.raises(InvalidInput) as missing:
        require_booking_for(NURSE, None)
    assert [d.field for d in missing.value.details] == ["patientId"]

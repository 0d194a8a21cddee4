"""The appointment's lifecycle: which status each transition leaves from and leads to, when in
time it may happen, and how each status reads in FHIR R4 (`Appointment.status`).

The one table of the state machine; use cases ask `refusal_to_transition` before they change a
status, and write the change conditionally on the status they judged (see use_cases). Cancelling
keeps its own wording and time rule (`visits.refusal_to_cancel`, over the same source statuses).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from models.appointments.rules.visits import CHANGEABLE_STATUSES

# How each of the plan's statuses is spelled in FHIR R4 Appointment.status.
FHIR_STATUS = {
    "scheduled": "booked",
    "confirmed": "booked",
    "checked_in": "arrived",
    "completed": "fulfilled",
    "no_show": "noshow",
    "cancelled": "cancelled",
}


@dataclass(frozen=True)
class Transition:
    name: str
    verb: str  # how a refusal names it: "Cannot <verb> this appointment"
    sources: frozenset[str]
    target: str


CONFIRM = Transition("confirm", "confirm", frozenset({"scheduled"}), "confirmed")
CHECK_IN = Transition("check_in", "check in", CHANGEABLE_STATUSES, "checked_in")
COMPLETE = Transition("complete", "complete", frozenset({"checked_in"}), "completed")
NO_SHOW = Transition("no_show", "mark as a no-show", CHANGEABLE_STATUSES, "no_show")
CANCEL = Transition("cancel", "cancel", CHANGEABLE_STATUSES, "cancelled")

TRANSITIONS = {t.name: t for t in (CONFIRM, CHECK_IN, COMPLETE, NO_SHOW, CANCEL)}


@dataclass(frozen=True)
class LifecycleTimes:
    """The clinic's time rules of the lifecycle (from kernel.settings)."""

    check_in_opens: timedelta = timedelta(minutes=60)
    no_show_grace: timedelta = timedelta(minutes=15)


def status_refusal(transition: Transition, status: str) -> str | None:
    """Why `transition` cannot leave `status`, naming the status, or None if it can."""
    if status in transition.sources:
        return None
    return f"Cannot {transition.verb} this appointment: its status is {status}"


def time_refusal(
    transition: Transition,
    start: datetime,
    minutes: int,
    now: datetime,
    times: LifecycleTimes,
) -> str | None:
    """Why `transition` cannot happen at `now` for a visit starting at `start` and lasting
    `minutes`, or None if it can."""
    now, start = now.astimezone(UTC), start.astimezone(UTC)
    end = start + timedelta(minutes=minutes)
    if transition is CONFIRM and now >= start:
        return "Cannot confirm an appointment whose start has passed"
    if transition is CHECK_IN:
        if now < start - times.check_in_opens:
            opens = int(times.check_in_opens.total_seconds() // 60)
            return f"Check-in opens {opens} minutes before the appointment's start"
        if now > end:
            return "Check-in closed at the end of the appointment"
    if transition is NO_SHOW and now < start + times.no_show_grace:
        grace = int(times.no_show_grace.total_seconds() // 60)
        return f"A no-show can be recorded only {grace} minutes after the appointment's start"
    return None


def refusal_to_transition(
    transition: Transition,
    status: str,
    start: datetime,
    minutes: int,
    now: datetime,
    times: LifecycleTimes,
) -> str | None:
    """Why this appointment cannot take `transition` now (its status first, then the clock),
    or None if it can."""
    return status_refusal(transition, status) or time_refusal(
        transition, start, minutes, now, times
    )

"""The lifecycle's status changes (confirm, check in, complete, no-show): one unit of work each,
judged by the state machine (`rules.lifecycle`) on the status read and written only if the row
still has it, so of two concurrent changes one wins and the other is told 409."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy.orm import Session

from kernel.clock import Clock
from kernel.database import Database, writes
from models.appointments.errors import AppointmentNotFound, ChangedMeanwhile, TransitionRefused
from models.appointments.queries import lifecycle as lifecycle_queries
from models.appointments.queries.availability import name_of_provider
from models.appointments.rules.lifecycle import (
    CHECK_IN,
    COMPLETE,
    CONFIRM,
    NO_SHOW,
    LifecycleTimes,
    Transition,
    refusal_to_transition,
)
from models.appointments.tables import Appointment
from models.appointments.use_cases.appointments import check_expected, visit_of
from models.notifications import use_cases as notifications
from models.notifications.use_cases import OutboxPolicy
from security import audit
from security.identity import Identity
from security.policy.appointments import (
    require_may_check_in,
    require_may_complete,
    require_may_confirm,
    require_may_mark_no_show,
)

# Who may take a step of this appointment (raises the access policy's refusal otherwise).
Allowed = Callable[[Identity, Appointment], None]


# A lifecycle step as the handlers call it, with the `Database` first: (db, identity,
# appointment_id, expected_status, clock, times, outbox).
LifecycleStep = Callable[
    [Database, Identity, str, str | None, Clock, LifecycleTimes, OutboxPolicy], Appointment
]


def _transition(
    session: Session,
    identity: Identity,
    appointment_id: str,
    transition: Transition,
    allowed: Allowed,
    expected_status: str | None,
    clock: Clock,
    times: LifecycleTimes,
    outbox: OutboxPolicy,
) -> Appointment:
    """One step of the lifecycle: judged from the status read, written only if that status is
    still the row's (`change_status`), so of two concurrent changes one wins and the other is
    told 409."""
    appointment = session.get(Appointment, appointment_id)
    if appointment is None:
        raise AppointmentNotFound()
    audit.note(subject=appointment.patient_id)
    allowed(identity, appointment)
    seen = appointment.status
    audit.note(details={"from": seen, "to": transition.target})
    check_expected(seen, expected_status)
    refusal = refusal_to_transition(
        transition, seen, appointment.starts_at(clock.zone), appointment.duration, clock.now, times
    )
    if refusal:
        raise TransitionRefused(refusal)
    values: dict[str, object] = {"status": transition.target}
    if transition is CHECK_IN:
        values["check_in_time"] = clock.now
    if transition is COMPLETE:
        values["check_out_time"] = clock.now
    if not lifecycle_queries.change_status(session, appointment.id, seen, values):
        session.refresh(appointment)
        raise ChangedMeanwhile(
            f"The appointment was changed meanwhile: its status is {appointment.status}"
        )
    session.refresh(appointment)
    provider = name_of_provider(session, appointment.provider_id)
    notifications.on_status_changed(
        session, visit_of(appointment, provider, clock), appointment.patient_id, clock.now, outbox
    )
    return appointment


def _step(name: str, transition: Transition, allowed: Allowed, doc: str) -> LifecycleStep:
    """The use case taking `transition`, in its own unit of work, for those `allowed`."""

    def step(
        session: Session,
        identity: Identity,
        appointment_id: str,
        expected_status: str | None,
        clock: Clock,
        times: LifecycleTimes,
        outbox: OutboxPolicy,
    ) -> Appointment:
        return _transition(
            session, identity, appointment_id, transition, allowed, expected_status, clock, times,
            outbox,
        )  # fmt: skip

    step.__name__ = step.__qualname__ = name
    step.__doc__ = doc
    return writes(step)


confirm = _step(
    "confirm",
    CONFIRM,
    lambda who, appointment: require_may_confirm(who, appointment.patient_id),
    "scheduled -> confirmed, by the patient or by a nurse or admin for them.",
)
check_in = _step(
    "check_in",
    CHECK_IN,
    lambda who, appointment: require_may_check_in(who),
    "scheduled|confirmed -> checked_in at the front desk, from `check_in_opens` before the start "
    "until the visit's end; records the check-in time.",
)
complete = _step(
    "complete",
    COMPLETE,
    lambda who, appointment: require_may_complete(who, appointment.provider_id),
    "checked_in -> completed, by the appointment's doctor or a nurse; records the check-out time.",
)
mark_no_show = _step(
    "mark_no_show",
    NO_SHOW,
    lambda who, appointment: require_may_mark_no_show(who, appointment.provider_id),
    "scheduled|confirmed -> no_show, by staff, once the start plus the grace period is past. A "
    "no-show frees no slot: its start has passed, so nothing there can be booked or offered.",
)

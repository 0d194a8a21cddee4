"""What can go wrong with appointments, in the calendar's words."""

from __future__ import annotations

from kernel.errors import Conflict, NotFound, RuleViolation


class AppointmentNotFound(NotFound):
    default_message = "Appointment not found"


class ProviderNotFound(NotFound):
    default_message = "Provider not found"


class SlotTaken(Conflict):
    default_message = "This time slot is no longer available"


class NotAcceptingNewPatients(RuleViolation):
    default_message = "This provider is not accepting new patients"


class ChangeRefused(RuleViolation):
    """The appointment may not be moved or cancelled now; the message says why."""


class PatientNotFound(NotFound):
    default_message = "Patient not found"


class TransitionRefused(RuleViolation):
    """The lifecycle does not allow this change from the appointment's status, or not now; the
    message names the status or the time rule."""


class ChangedMeanwhile(Conflict):
    """Someone else changed the appointment's status between the caller's look and this change."""

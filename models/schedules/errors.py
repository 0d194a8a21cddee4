"""What can go wrong when a schedule changes, in the schedule's words."""

from __future__ import annotations

from kernel.errors import Conflict, NotFound, RuleViolation


class HoursHoldBookings(Conflict):
    """The change would leave booked appointments outside the provider's hours; `details` name
    them. Sent again with `conflicts: keep`, it is made and the bookings stay."""

    default_message = (
        "This change removes hours that hold booked appointments; send conflicts=keep to make "
        "it and keep them"
    )


class TimeOffNotFound(NotFound):
    default_message = "Time off not found"


class ExtraHoursNotFound(NotFound):
    default_message = "Extra hours not found"


class NoLocation(RuleViolation):
    default_message = "The provider has no location to hold hours at"

"""What can go wrong with the waitlist, in its own words."""

from __future__ import annotations

from kernel.errors import Conflict, NotFound, RuleViolation


class EntryNotFound(NotFound):
    default_message = "Waitlist entry not found"


class OfferNotFound(NotFound):
    default_message = "Waitlist offer not found"


class WaitlistFull(RuleViolation):
    """The patient already waits on as many lists as WAITLIST_MAX_ENTRIES allows."""


class OfferClosed(Conflict):
    """The offer can no longer be answered; the message says why (taken, expired, answered)."""

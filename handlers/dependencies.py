"""What handlers use of the running app, and how they reach it: the web layer makes the app's
services current for each request (`activate`), handlers ask for them (`current`).

A Protocol, so the handlers state what they need without depending on how the app is built
(`portal.runtime.Services` provides it).
"""

from __future__ import annotations

from contextvars import ContextVar, Token
from typing import Protocol

from adapters import metrics
from adapters.storage import Storage
from kernel.clock import Clock
from kernel.database import Database
from kernel.settings import Settings
from models.audit.use_cases import AuditChain
from models.notifications.use_cases import OutboxPolicy
from models.search.queries import DirectorySnapshot
from models.waitlist.use_cases import SlotRefill, WaitlistPolicy
from security.audit import AuditTrail
from security.revocations import SessionRevocations
from security.tokens import TokenService


class Dependencies(Protocol):
    @property
    def settings(self) -> Settings: ...
    @property
    def db(self) -> Database: ...
    @property
    def tokens(self) -> TokenService: ...
    @property
    def revocations(self) -> SessionRevocations: ...
    @property
    def storage(self) -> Storage: ...
    @property
    def search_directory(self) -> DirectorySnapshot: ...
    @property
    def audit_trail(self) -> AuditTrail: ...
    @property
    def audit_chain(self) -> AuditChain: ...
    @property
    def outbox(self) -> OutboxPolicy: ...
    @property
    def waitlist(self) -> WaitlistPolicy: ...


_current: ContextVar[Dependencies] = ContextVar("portal_dependencies")


def current() -> Dependencies:
    """The services of the app serving the current request."""
    try:
        return _current.get()
    except LookupError:
        raise RuntimeError("no portal app is handling a request in this context") from None


def clinic_clock() -> Clock:
    """Now, with the clinic's time zone: what every date rule of a request is given."""
    return Clock.at_clinic(current().settings.clinic_zone)


def slot_refill() -> SlotRefill:
    """The waitlist's hook for a change that frees a slot (cancel, reschedule, new hours)."""
    return SlotRefill(current().waitlist, current().outbox)


def count_offers(refill: SlotRefill) -> None:
    """The waitlist offers a freed slot made (counted once the change has committed)."""
    done = refill.refill
    metrics.record_waitlist_offers(sent=done.sent, expired=done.expired, taken=done.taken)


def clinic_zone_name() -> str:
    """The clinic's IANA zone (CLINIC_TIMEZONE): the zone of whatever names none of its own."""
    return current().settings.clinic_timezone


def activate(dependencies: Dependencies) -> Token[Dependencies]:
    """Make `dependencies` current in this context; returns the token for `deactivate`."""
    return _current.set(dependencies)


def deactivate(token: Token[Dependencies]) -> None:
    _current.reset(token)

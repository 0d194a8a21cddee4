"""What the API does with the waitlist: join, list and leave entries; list, accept and decline
offers; offer a freed slot (inside the change that freed it); and the expiry pass.

A freed slot stays open to anyone while it is offered (docs/api.md, waitlist): offers are a
head start, not a hold. Everything that decides who gets a slot runs under the provider's row
lock (`load_day(..., for_update=True)`), the one that serializes bookings, so an accept, a
booking, a cancellation and an expiry pass of one provider run one after another; the accept
books through `appointments.use_cases.appointments.book_in`, the booking rules themselves.
"""

from __future__ import annotations

import functools
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy.orm import Session

from kernel.clock import Clock
from kernel.database import Database, reads, writes
from kernel.errors import InvalidInput
from kernel.settings import Settings
from models.appointments.errors import ProviderNotFound
from models.appointments.queries.availability import ProviderDay, load_day
from models.appointments.rules.slots import SLOT_GRID_MINUTES, is_free_slot
from models.appointments.rules.visits import duration_for, is_virtual_visit
from models.appointments.tables import Appointment
from models.appointments.use_cases.appointments import BookingRequest, FreedSlot, book_in
from models.base import new_id
from models.notifications import use_cases as notifications
from models.notifications.rules import Visit
from models.notifications.use_cases import OutboxPolicy
from models.providers.queries import primary_location
from models.waitlist import queries
from models.waitlist.errors import EntryNotFound, OfferClosed, OfferNotFound, WaitlistFull
from models.waitlist.rules import (
    OpenSlot,
    Wish,
    entry_state,
    matches,
    offer_expiry,
    offer_state,
    offers_to_make,
    refusal_to_accept,
    wish_problems,
)
from models.waitlist.tables import WaitlistEntry, WaitlistOffer, WaitlistSlot
from security import audit
from security.identity import Identity
from security.policy.roles import require_owner, require_patient

# How far back "my offers" looks.
OFFERS_SHOWN_FOR = timedelta(days=14)


@dataclass(frozen=True)
class WaitlistPolicy:
    """The settings the waitlist follows (from kernel.settings)."""

    fanout: int = 3
    offer_minutes: int = 30
    max_entries: int = 5

    @classmethod
    def from_settings(cls, settings: Settings) -> WaitlistPolicy:
        return cls(
            fanout=settings.waitlist_offer_fanout,
            offer_minutes=settings.waitlist_offer_minutes,
            max_entries=settings.waitlist_max_entries,
        )


@dataclass(frozen=True)
class EntryView:
    entry: WaitlistEntry
    state: str


@dataclass(frozen=True)
class OfferView:
    offer: WaitlistOffer
    state: str
    provider_name: str | None


@dataclass
class Refill:
    """What one look at a slot did: offers sent, offers found expired, offers whose slot was
    gone."""

    sent: int = 0
    expired: int = 0
    taken: int = 0
    offered_to: set[str] = field(default_factory=set)  # the patients the offers went to

    def add(self, other: Refill) -> None:
        self.sent, self.expired = self.sent + other.sent, self.expired + other.expired
        self.taken += other.taken
        self.offered_to |= other.offered_to


@dataclass(frozen=True)
class Accepted:
    appointment: Appointment
    offer_id: str
    # From the slot freeing to this booking: how fast the waitlist refilled it.
    refill_seconds: float


def _is_free(schedule: ProviderDay | None, slot: WaitlistSlot, minutes: int, clock: Clock) -> bool:
    return schedule is not None and is_free_slot(
        slot.start_time,
        schedule.windows,
        schedule.bookings,
        slot.date,
        minutes,
        clock.now,
        clock.zone,
    )


def _state(offer: WaitlistOffer, schedule: ProviderDay | None, clock: Clock) -> str:
    minutes = duration_for(offer.entry.visit_type)
    free = _is_free(schedule, offer.slot, minutes, clock)
    return offer_state(offer.status, offer.expires_at, clock.now, free)


def _wish(entry: WaitlistEntry) -> Wish:
    return Wish(
        provider_id=entry.provider_id,
        specialty=entry.specialty,
        first_day=entry.first_day,
        last_day=entry.last_day,
        time_of_day=entry.time_of_day,
        visit_type=entry.visit_type,
    )


def _offer_message(
    session: Session,
    offer: WaitlistOffer,
    entry: WaitlistEntry,
    slot: WaitlistSlot,
    schedule: ProviderDay,
    clock: Clock,
    outbox: OutboxPolicy,
) -> None:
    """The offer by the outbox: when, with whom, where, until when; nothing about the entry's
    reason."""
    visit = Visit(
        appointment_id=offer.id,
        day=slot.date,
        start=slot.start_time,
        minutes=duration_for(entry.visit_type),
        zone=clock.zone.key,
        provider=schedule.profile.name,
        location=primary_location(session, schedule.profile.id),
        meeting_url=None,
        status="offered",
        sequence=0,
        expires_at=offer.expires_at,
    )
    notifications.on_waitlist_offer(session, visit, offer.patient_id, clock.now, outbox)


def _refill(
    session: Session,
    slot: WaitlistSlot,
    schedule: ProviderDay | None,
    clock: Clock,
    policy: WaitlistPolicy,
    outbox: OutboxPolicy,
    passed_over: Collection[str] = (),
) -> Refill:
    """Look at one slot under its provider's lock: expire its offers whose time is up; if the
    slot is gone, close its open offers as `taken`; else offer it to the next entries in order
    of joining (leaving out the patients `passed_over`), up to `policy.fanout` open offers; with
    nobody left, the slot is simply free."""
    outcome = Refill()
    offers = queries.offers_of_slot(session, slot.id)
    for offer in offers:
        if offer.status == "open" and offer.expires_at <= clock.now:
            offer.status, outcome.expired = "expired", outcome.expired + 1
    live = [offer for offer in offers if offer.status == "open"]
    if not _is_free(schedule, slot, SLOT_GRID_MINUTES, clock):
        for offer in live:
            offer.status, outcome.taken = "taken", outcome.taken + 1
        slot.status = "gone"
        return outcome
    assert schedule is not None
    need = offers_to_make(policy.fanout, len(live))
    asked = {offer.patient_id for offer in offers}  # one offer of a slot per patient, ever
    asked |= set(passed_over)
    specialty = queries.specialty_of(session, slot.provider_id) or ""
    view = OpenSlot(slot.provider_id, specialty, slot.date, slot.start_time, slot.minutes)
    made: list[tuple[WaitlistOffer, WaitlistEntry]] = []
    if need:
        entries = queries.candidates(
            session, slot.provider_id, specialty, slot.date, {o.entry_id for o in offers}
        )
        for entry in entries:
            if len(made) == need:
                break
            if entry.patient_id in asked or not matches(_wish(entry), view, clock.now, clock.zone):
                continue
            if not _is_free(schedule, slot, duration_for(entry.visit_type), clock):
                continue  # this visit does not fit around the neighbouring bookings
            offer = WaitlistOffer(
                id=new_id(),
                slot_id=slot.id,
                entry_id=entry.id,
                patient_id=entry.patient_id,
                status="open",
                offered_at=clock.now,
                expires_at=offer_expiry(clock.now, policy.offer_minutes),
            )
            session.add(offer)
            made.append((offer, entry))
            asked.add(entry.patient_id)
    if not live and not made:
        slot.status = "exhausted"
    if made:
        session.add(slot)  # a slot just freed gets its row with its first offers
    session.flush()
    for offer, entry in made:
        _offer_message(session, offer, entry, slot, schedule, clock, outbox)
    outcome.sent = len(made)
    outcome.offered_to = {entry.patient_id for _, entry in made}
    return outcome


def offer_freed_slot(
    session: Session,
    freed: FreedSlot,
    clock: Clock,
    policy: WaitlistPolicy,
    outbox: OutboxPolicy,
    passed_over: Collection[str] = (),
) -> Refill:
    """Offer a slot just freed to the waitlist, in the transaction of the change that freed it,
    leaving out the patients `passed_over`. A slot nobody waits for leaves no row."""
    demand = queries.lock_provider_demand(session, freed.provider_id, freed.day, freed.start)
    # Under the provider's lock: with no slot offered at that start and nobody waiting that day
    # (or no provider), the refill below would write and report nothing; its reads are skipped.
    if demand is None:
        wanted = queries.is_offering_at(session, freed.provider_id, freed.day, freed.start)
    else:
        wanted = demand.offering or demand.waiting
    if not wanted:
        return Refill()
    schedule = load_day(session, freed.provider_id, freed.day, for_update=True)
    slot = queries.offering_slot_at(session, freed.provider_id, freed.day, freed.start)
    if slot is None:
        slot = WaitlistSlot(
            id=new_id(),
            provider_id=freed.provider_id,
            date=freed.day,
            start_time=freed.start,
            minutes=freed.minutes,
            status="offering",
            freed_at=clock.now,
        )
    return _refill(session, slot, schedule, clock, policy, outbox, passed_over)


class SlotRefill:
    """The hook the appointments' cancel and reschedule call with the slot they free
    (`appointments.use_cases.appointments.SlotFreed`), and schedule changes with the starts new
    hours open (`opened`); `refill` says what the last call did, for metrics."""

    def __init__(self, policy: WaitlistPolicy, outbox: OutboxPolicy) -> None:
        self.policy, self.outbox = policy, outbox
        self.refill = Refill()

    def __call__(self, session: Session, freed: FreedSlot, clock: Clock) -> None:
        # A unit of work re-run after a deadlock calls this again: the last call is the truth.
        self.refill = offer_freed_slot(session, freed, clock, self.policy, self.outbox)

    def opened(
        self, session: Session, provider_id: str, starts: Sequence[FreedSlot], clock: Clock
    ) -> None:
        """New hours, or time off lifted, open `starts` of one provider: each is offered as a
        cancelled slot would be, earliest first, and each waiting patient is offered one of
        them (the earliest that fits), not all."""
        self.refill = Refill()
        if not starts:
            return
        days = sorted(s.day for s in starts)
        specialty = queries.specialty_of(session, provider_id) or ""
        waiting = queries.waiting_between(session, provider_id, specialty, days[0], days[-1])
        for start in sorted(starts, key=lambda s: (s.day, s.start)):
            if not any(
                e.first_day <= start.day <= e.last_day
                and e.patient_id not in self.refill.offered_to
                for e in waiting
            ):
                continue
            self.refill.add(
                offer_freed_slot(
                    session, start, clock, self.policy, self.outbox, self.refill.offered_to
                )
            )


@writes
def join(
    session: Session,
    identity: Identity,
    wish: Wish,
    reason: str,
    clock: Clock,
    policy: WaitlistPolicy,
) -> EntryView:
    """Put the calling patient on a waitlist; the next freed slot that fits is offered to them
    in their turn (a slot already being offered, from the next expiry pass)."""
    require_patient(identity, "Only patients can join a waitlist")
    audit.note(subject=identity.user_id)
    if problems := wish_problems(wish, clock.now, clock.zone):
        raise InvalidInput(details=problems)
    if wish.provider_id is not None and queries.specialty_of(session, wish.provider_id) is None:
        raise ProviderNotFound()
    today = clock.now.astimezone(clock.zone).date()
    if queries.active_entries_since(session, identity.user_id, today) >= policy.max_entries:
        raise WaitlistFull(f"You can wait on at most {policy.max_entries} waitlists at once")
    entry = WaitlistEntry(
        patient_id=identity.user_id,
        provider_id=wish.provider_id,
        specialty=wish.specialty,
        visit_type=wish.visit_type,
        reason=reason,
        first_day=wish.first_day,
        last_day=wish.last_day,
        time_of_day=wish.time_of_day,
        status="active",
        created_at=clock.now,
    )
    session.add(entry)
    session.flush()
    audit.note(resource_id=entry.id)
    return EntryView(entry, "active")


@reads
def list_entries(session: Session, identity: Identity, clock: Clock) -> list[EntryView]:
    """The caller's entries in order of joining (those left are gone from the list)."""
    require_patient(identity, "Only patients have waitlist entries")
    entries = queries.entries_of(session, identity.user_id)
    audit.note(
        resource_id=identity.user_id, subject=identity.user_id, details={"count": len(entries)}
    )
    return [
        EntryView(entry, entry_state(entry.status, entry.last_day, clock.now, clock.zone))
        for entry in entries
    ]


@writes
def leave(session: Session, identity: Identity, entry_id: str, clock: Clock) -> EntryView:
    """Take the caller off a waitlist; its open offers are withdrawn (the next expiry pass
    offers their slots to the next patients)."""
    entry = session.get(WaitlistEntry, entry_id, with_for_update=True)
    if entry is not None:  # read first, so a refusal still names whose entry it was
        audit.note(subject=entry.patient_id)
    require_patient(identity, "Only patients have waitlist entries")
    if entry is None or entry.status == "left":
        raise EntryNotFound()
    require_owner(identity, entry.patient_id, "This waitlist entry is another patient's")
    entry.status, entry.ended_at = "left", clock.now
    for offer in queries.open_offers_of_entry(session, entry.id):
        offer.status, offer.answered_at = "withdrawn", clock.now
    return EntryView(entry, "left")


def _provider_days(
    session: Session, offers: list[WaitlistOffer]
) -> dict[tuple[str, date], ProviderDay | None]:
    """The day of each open offer's provider (one read per provider and day)."""
    days: dict[tuple[str, date], ProviderDay | None] = {}
    for offer in offers:
        key = (offer.slot.provider_id, offer.slot.date)
        if key not in days:
            days[key] = load_day(session, *key)
    return days


@reads
def list_offers(session: Session, identity: Identity, clock: Clock) -> list[OfferView]:
    """The caller's offers of the last two weeks, newest first, each in its state now: an offer
    whose slot is gone says `taken`, one whose time is up says `expired`."""
    require_patient(identity, "Only patients have waitlist offers")
    offers = queries.offers_to(session, identity.user_id, clock.now - OFFERS_SHOWN_FOR)
    audit.note(
        resource_id=identity.user_id, subject=identity.user_id, details={"count": len(offers)}
    )
    days = _provider_days(session, offers)
    views = []
    for offer in offers:
        schedule = days.get((offer.slot.provider_id, offer.slot.date))
        name = schedule.profile.name if schedule else None
        views.append(OfferView(offer, _state(offer, schedule, clock), name))
    return views


def _locked_offer(
    session: Session, identity: Identity, offer_id: str
) -> tuple[WaitlistOffer, ProviderDay | None]:
    """The caller's offer, re-read after its provider is locked (so every decision about the
    slot is made by one transaction at a time)."""
    offer = session.get(WaitlistOffer, offer_id)
    if offer is not None:  # read first, so a refusal still names whose offer it was
        audit.note(subject=offer.patient_id)
    require_patient(identity, "Only patients have waitlist offers")
    if offer is None:
        raise OfferNotFound()
    require_owner(identity, offer.patient_id, "This offer was made to another patient")
    schedule = load_day(session, offer.slot.provider_id, offer.slot.date, for_update=True)
    session.refresh(offer, with_for_update=True)
    session.refresh(offer.slot)
    session.refresh(offer.entry)
    return offer, schedule


@writes
def accept(
    session: Session,
    identity: Identity,
    offer_id: str,
    clock: Clock,
    meeting_base: str,
    outbox: OutboxPolicy,
) -> Accepted:
    """Book the offered slot for the caller through the booking rules: the first accept wins;
    any later one is refused with why (taken, expired, answered), its entry kept."""
    offer, schedule = _locked_offer(session, identity, offer_id)
    if refusal := refusal_to_accept(_state(offer, schedule, clock)):
        raise OfferClosed(refusal)
    entry, slot = offer.entry, offer.slot
    request = BookingRequest(
        provider_id=slot.provider_id,
        day=slot.date,
        start=slot.start_time,
        type=entry.visit_type,
        reason=entry.reason,
        notes=None,
        is_virtual=is_virtual_visit(entry.visit_type, False),
    )
    appointment = book_in(session, identity, request, clock, meeting_base, outbox)
    offer.status, offer.answered_at, offer.appointment_id = "accepted", clock.now, appointment.id
    slot.status, slot.filled_at = "filled", clock.now
    for other in queries.offers_of_slot(session, slot.id):
        if other.id != offer.id and other.status == "open":
            other.status = "taken"
    entry.status, entry.ended_at = "fulfilled", clock.now
    for other in queries.open_offers_of_entry(session, entry.id):
        if other.id != offer.id:
            other.status, other.answered_at = "withdrawn", clock.now
    audit.note(resource_id=offer.id, details={"appointmentId": appointment.id})
    refill = (clock.now - slot.freed_at).total_seconds()
    return Accepted(appointment, offer.id, max(refill, 0.0))


@writes
def decline(
    session: Session,
    identity: Identity,
    offer_id: str,
    clock: Clock,
    policy: WaitlistPolicy,
    outbox: OutboxPolicy,
) -> tuple[OfferView, Refill]:
    """Say no to an offer (the entry stays on the list); the slot goes to the next patient at
    once."""
    offer, schedule = _locked_offer(session, identity, offer_id)
    if refusal := refusal_to_accept(_state(offer, schedule, clock)):
        raise OfferClosed(refusal)
    offer.status, offer.answered_at = "declined", clock.now
    session.flush()
    refill = _refill(session, offer.slot, schedule, clock, policy, outbox)
    name = schedule.profile.name if schedule else None
    return OfferView(offer, "declined", name), refill


def _review_slot(
    session: Session,
    slot_id: str,
    provider_id: str,
    clock: Clock,
    policy: WaitlistPolicy,
    outbox: OutboxPolicy,
) -> Refill:
    slot = session.get(WaitlistSlot, slot_id)
    if slot is None:
        return Refill()
    schedule = load_day(session, provider_id, slot.date, for_update=True)
    session.refresh(slot)
    if slot.status != "offering":
        return Refill()
    return _refill(session, slot, schedule, clock, policy, outbox)


@dataclass
class PassReport(Refill):
    slots: int = 0
    errors: list[str] = field(default_factory=list)


def expire_and_refill(
    db: Database, clock: Clock, policy: WaitlistPolicy, outbox: OutboxPolicy
) -> PassReport:
    """The expiry pass (the outbox worker runs it before each delivery round): every slot still
    offered whose offers ran out, or that has fewer open offers than the fan-out, is looked at
    again, one unit of work per slot (its provider locked), and offered to the next patients."""
    report = PassReport()
    due = db.read(lambda session: queries.slots_to_review(session, clock.now, policy.fanout))
    for slot_id, provider_id in due:
        outcome = db.run(
            functools.partial(
                _review_slot,
                slot_id=slot_id,
                provider_id=provider_id,
                clock=clock,
                policy=policy,
                outbox=outbox,
            )
        )
        report.add(outcome)
        report.slots += 1
    return report

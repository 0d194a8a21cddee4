"""Statements on the waitlist: a patient's entries and offers, the entries a freed slot may go
to (in order of joining), the slots still being offered."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date, datetime, time

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models.providers.tables import ProviderProfile
from models.waitlist.tables import WaitlistEntry, WaitlistOffer, WaitlistSlot


def entries_of(session: Session, patient_id: str) -> list[WaitlistEntry]:
    """The patient's entries that have not been left, in order of joining."""
    return list(
        session.scalars(
            sa.select(WaitlistEntry)
            .where(WaitlistEntry.patient_id == patient_id, WaitlistEntry.status != "left")
            .order_by(WaitlistEntry.created_at, WaitlistEntry.id)
        )
    )


def active_entries_since(session: Session, patient_id: str, today: date) -> int:
    """How many lists the patient waits on now (active, range not over)."""
    return (
        session.scalar(
            sa.select(sa.func.count(WaitlistEntry.id)).where(
                WaitlistEntry.patient_id == patient_id,
                WaitlistEntry.status == "active",
                WaitlistEntry.last_day >= today,
            )
        )
        or 0
    )


def specialty_of(session: Session, provider_user_id: str) -> str | None:
    return session.scalar(
        sa.select(ProviderProfile.specialty).where(ProviderProfile.user_id == provider_user_id)
    )


def waiting_between(
    session: Session, provider_id: str, specialty: str, first: date, last: date
) -> list[WaitlistEntry]:
    """Active entries for this provider or its specialty whose range meets [first, last]."""
    return list(
        session.scalars(
            sa.select(WaitlistEntry).where(
                WaitlistEntry.status == "active",
                WaitlistEntry.first_day <= last,
                WaitlistEntry.last_day >= first,
                _for_provider(provider_id, specialty),
            )
        )
    )


def _for_provider(
    provider_id: str | sa.BindParameter[str], specialty: str | sa.BindParameter[str]
) -> sa.ColumnElement[bool]:
    """An entry naming this provider, or naming none and this provider's specialty (values, or
    bind parameters of a statement built once)."""
    return sa.or_(
        WaitlistEntry.provider_id == provider_id,
        sa.and_(WaitlistEntry.provider_id.is_(None), WaitlistEntry.specialty == specialty),
    )


def candidates(
    session: Session, provider_id: str, specialty: str, day: date, passed_over: Collection[str]
) -> list[WaitlistEntry]:
    """Active entries for this provider or its specialty whose range holds `day`, in order of
    joining, leaving out `passed_over` (entries this slot was already offered to). The rules
    then judge time of day, visit length and "now"."""
    query = (
        sa.select(WaitlistEntry)
        .where(
            WaitlistEntry.status == "active",
            WaitlistEntry.first_day <= day,
            WaitlistEntry.last_day >= day,
            _for_provider(provider_id, specialty),
        )
        .order_by(WaitlistEntry.created_at, WaitlistEntry.id)
    )
    if passed_over:
        query = query.where(WaitlistEntry.id.not_in(list(passed_over)))
    return list(session.scalars(query))


# The provider's profile row, locked as `load_day(..., for_update=True)` locks it (the lock every
# change of one provider's calendar takes first), with its specialty. Built once.
_LOCKED_SPECIALTY = (
    sa.select(ProviderProfile.specialty)
    .where(ProviderProfile.user_id == sa.bindparam("provider"))
    .with_for_update()
)
# Is any entry active for this provider, or for its specialty without naming one, on this day?
_ANYONE_WAITING = (
    sa.select(WaitlistEntry.id)
    .where(
        WaitlistEntry.status == "active",
        WaitlistEntry.first_day <= sa.bindparam("day"),
        WaitlistEntry.last_day >= sa.bindparam("day"),
        _for_provider(sa.bindparam("provider"), sa.bindparam("specialty")),
    )
    .limit(1)
)
_OFFERING_SLOT_AT = sa.select(WaitlistSlot.id).where(
    WaitlistSlot.provider_id == sa.bindparam("provider"),
    WaitlistSlot.date == sa.bindparam("day"),
    WaitlistSlot.start_time == sa.bindparam("start"),
    WaitlistSlot.status == "offering",
)


def lock_provider_specialty(session: Session, provider_id: str) -> tuple[bool, str]:
    """Lock the provider's profile row: (whether it exists, its specialty or ""). Plain rows on
    the session's connection, after what the session holds is written (as its own execute
    would do first)."""
    session.flush()
    row = session.connection().execute(_LOCKED_SPECIALTY, {"provider": provider_id}).first()
    return (row is not None, (row.specialty if row else None) or "")


def is_offering_at(session: Session, provider_id: str, day: date, start: time) -> bool:
    """Is a slot at this start being offered?"""
    where = {"provider": provider_id, "day": day, "start": start}
    return session.connection().execute(_OFFERING_SLOT_AT, where).first() is not None


def anyone_waiting(session: Session, provider_id: str, specialty: str, day: date) -> bool:
    """Is any entry active on `day` for this provider, or for its specialty naming none?"""
    where = {"provider": provider_id, "day": day, "specialty": specialty}
    return session.connection().execute(_ANYONE_WAITING, where).first() is not None


def offering_slot_at(
    session: Session, provider_id: str, day: date, start: time
) -> WaitlistSlot | None:
    return session.scalar(
        sa.select(WaitlistSlot).where(
            WaitlistSlot.provider_id == provider_id,
            WaitlistSlot.date == day,
            WaitlistSlot.start_time == start,
            WaitlistSlot.status == "offering",
        )
    )


def offers_of_slot(session: Session, slot_id: str) -> list[WaitlistOffer]:
    return list(
        session.scalars(
            sa.select(WaitlistOffer)
            .where(WaitlistOffer.slot_id == slot_id)
            .order_by(WaitlistOffer.offered_at, WaitlistOffer.id)
        )
    )


def open_offers_of_entry(session: Session, entry_id: str) -> list[WaitlistOffer]:
    return list(
        session.scalars(
            sa.select(WaitlistOffer).where(
                WaitlistOffer.entry_id == entry_id, WaitlistOffer.status == "open"
            )
        )
    )


def offers_to(session: Session, patient_id: str, since: datetime) -> list[WaitlistOffer]:
    """The patient's offers made since `since`, newest first."""
    return list(
        session.scalars(
            sa.select(WaitlistOffer)
            .where(WaitlistOffer.patient_id == patient_id, WaitlistOffer.offered_at >= since)
            .order_by(WaitlistOffer.offered_at.desc(), WaitlistOffer.id)
        )
    )


def slots_to_review(session: Session, now: datetime, fanout: int) -> list[tuple[str, str]]:
    """(slot id, provider id) of the slots still offering that an expiry pass must look at:
    those with an open offer whose time is up, or fewer live offers than `fanout` (an offer
    declined or withdrawn), oldest freed first."""
    live = (
        sa.select(sa.func.count(WaitlistOffer.id))
        .where(
            WaitlistOffer.slot_id == WaitlistSlot.id,
            WaitlistOffer.status == "open",
            WaitlistOffer.expires_at > now,
        )
        .correlate(WaitlistSlot)
        .scalar_subquery()
    )
    rows = session.execute(
        sa.select(WaitlistSlot.id, WaitlistSlot.provider_id)
        .where(WaitlistSlot.status == "offering", live < fanout)
        .order_by(WaitlistSlot.freed_at, WaitlistSlot.id)
    )
    return [(slot_id, provider_id) for slot_id, provider_id in rows]

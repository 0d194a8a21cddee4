"""Statements on the waitlist: a patient's entries and offers, the entries a freed slot may go
to (in order of joining), the slots still being offered."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
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
    provider_id: str | sa.ColumnElement[str], specialty: str | sa.ColumnElement[str]
) -> sa.ColumnElement[bool]:
    """An entry naming this provider, or naming none and this provider's specialty (values, or
    bind parameters or columns of a statement built once)."""
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


_OFFERING_SLOT_AT = sa.select(WaitlistSlot.id).where(
    WaitlistSlot.provider_id == sa.bindparam("provider"),
    WaitlistSlot.date == sa.bindparam("day"),
    WaitlistSlot.start_time == sa.bindparam("start"),
    WaitlistSlot.status == "offering",
)
# The provider's profile row, locked as `load_day(..., for_update=True)` locks it (the lock every
# change of one provider's calendar takes first), with the two questions a freed slot asks: is a
# slot at this start being offered, and is any entry active that day for this provider, or for
# its specialty naming none? (The subqueries' rows are read, not locked.) Built once.
_LOCKED_DEMAND = (
    sa.select(
        sa.exists(_OFFERING_SLOT_AT).label("offering"),
        sa.exists(
            sa.select(WaitlistEntry.id).where(
                WaitlistEntry.status == "active",
                WaitlistEntry.first_day <= sa.bindparam("day"),
                WaitlistEntry.last_day >= sa.bindparam("day"),
                _for_provider(
                    sa.bindparam("provider"), sa.func.coalesce(ProviderProfile.specialty, "")
                ),
            )
        ).label("waiting"),
    )
    .where(ProviderProfile.user_id == sa.bindparam("provider"))
    .with_for_update()
)


@dataclass(frozen=True)
class Demand:
    """What a freed slot's provider has waiting for it: a slot at that start being offered, and
    anyone waiting that day."""

    offering: bool
    waiting: bool


def lock_provider_demand(
    session: Session, provider_id: str, day: date, start: time
) -> Demand | None:
    """Lock the provider's profile row and say what waits for a slot freed at `day` `start`;
    None when the provider has no profile. One statement, plain rows on the session's
    connection, after what the session holds is written (as its own execute would do first)."""
    session.flush()
    where = {"provider": provider_id, "day": day, "start": start}
    row = session.connection().execute(_LOCKED_DEMAND, where).first()
    return None if row is None else Demand(bool(row.offering), bool(row.waiting))


def is_offering_at(session: Session, provider_id: str, day: date, start: time) -> bool:
    """Is a slot at this start being offered?"""
    where = {"provider": provider_id, "day": day, "start": start}
    return session.connection().execute(_OFFERING_SLOT_AT, where).first() is not None


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

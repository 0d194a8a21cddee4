"""The waitlist's tables: entries (what a patient waits for), the slots being offered (a
freed start and how its offering goes), and the offers (one slot to one entry)."""

from __future__ import annotations

from datetime import date, datetime, time

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.appointments.rules.visits import APPOINTMENT_TYPES
from models.base import Base, UtcDateTime, created_at_column, enum_column, id_column
from models.waitlist.rules import ENTRY_STATUSES, OFFER_STATUSES, SLOT_STATUSES, TIMES_OF_DAY
from security.phi import EncryptedText


class WaitlistEntry(Base):
    """A patient waiting for a provider (or any provider of a specialty) between two clinic
    days, at a time of day, for a visit of a type; `reason` is the booking's reason when an
    offer is accepted (sealed like every PHI column, never in a message)."""

    __tablename__ = "waitlist_entries"
    __table_args__ = (
        sa.Index("ix_waitlist_entries_status_provider", "status", "provider_id"),
        sa.Index("ix_waitlist_entries_status_specialty", "status", "specialty"),
        sa.Index("ix_waitlist_entries_patient_status", "patient_id", "status"),
    )

    id: Mapped[str] = id_column()
    patient_id: Mapped[str] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    provider_id: Mapped[str | None] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"))
    specialty: Mapped[str | None] = mapped_column(sa.String(100))
    visit_type: Mapped[str] = enum_column("appointment_type", APPOINTMENT_TYPES, nullable=False)
    reason: Mapped[str] = mapped_column(EncryptedText("waitlist_entries.reason"), nullable=False)
    first_day: Mapped[date] = mapped_column(sa.Date, nullable=False)
    last_day: Mapped[date] = mapped_column(sa.Date, nullable=False)
    time_of_day: Mapped[str] = enum_column("waitlist_time_of_day", TIMES_OF_DAY, nullable=False)
    status: Mapped[str] = enum_column(
        "waitlist_entry_status", ENTRY_STATUSES, nullable=False, default="active"
    )
    # The order of joining: offers go to the earliest entries first.
    created_at: Mapped[datetime] = created_at_column()
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class WaitlistSlot(Base):
    """A start freed by a cancellation or a reschedule, while it is offered: `offering` until
    an offer is accepted (`filled`), nobody is left to offer it to (`exhausted`, the slot is
    then simply free) or it is gone otherwise (`gone`: booked directly, hours changed, past)."""

    __tablename__ = "waitlist_slots"
    __table_args__ = (
        sa.Index("ix_waitlist_slots_status", "status"),
        sa.Index("ix_waitlist_slots_provider_day", "provider_id", "date", "start_time"),
    )

    id: Mapped[str] = id_column()
    provider_id: Mapped[str] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    date: Mapped[date] = mapped_column(sa.Date, nullable=False)
    start_time: Mapped[time] = mapped_column(sa.Time, nullable=False)
    minutes: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    status: Mapped[str] = enum_column(
        "waitlist_slot_status", SLOT_STATUSES, nullable=False, default="offering"
    )
    freed_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    filled_at: Mapped[datetime | None] = mapped_column(UtcDateTime)


class WaitlistOffer(Base):
    """One freed slot offered to one entry, open until `expires_at`."""

    __tablename__ = "waitlist_offers"
    __table_args__ = (
        sa.UniqueConstraint("slot_id", "entry_id"),
        sa.Index("ix_waitlist_offers_patient_status", "patient_id", "status"),
        sa.Index("ix_waitlist_offers_slot_status", "slot_id", "status"),
    )

    id: Mapped[str] = id_column()
    slot_id: Mapped[str] = mapped_column(
        sa.ForeignKey("waitlist_slots.id", ondelete="CASCADE"), nullable=False
    )
    entry_id: Mapped[str] = mapped_column(
        sa.ForeignKey("waitlist_entries.id", ondelete="CASCADE"), nullable=False
    )
    patient_id: Mapped[str] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    status: Mapped[str] = enum_column(
        "waitlist_offer_status", OFFER_STATUSES, nullable=False, default="open"
    )
    offered_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    appointment_id: Mapped[str | None] = mapped_column(sa.String(36))

    slot: Mapped[WaitlistSlot] = relationship(lazy="joined", innerjoin=True)
    entry: Mapped[WaitlistEntry] = relationship(lazy="joined", innerjoin=True)

"""waitlist: entries, the slots being offered and the offers; the outbox's waitlist_offer kind

Revision ID: 0012
Revises: 0008
Create Date: 2026-12-02 19:00:00
"""

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPOINTMENT_TYPES = (
    "routine_checkup", "follow_up", "consultation", "urgent_care", "procedure", "lab_work",
    "vaccination", "telehealth",
)  # fmt: skip
TIMES_OF_DAY = ("morning", "afternoon", "any")
ENTRY_STATUSES = ("active", "fulfilled", "left")
OFFER_STATUSES = ("open", "accepted", "declined", "expired", "taken", "withdrawn")
SLOT_STATUSES = ("offering", "filled", "exhausted", "gone")
KINDS = ("booked", "rescheduled", "cancelled", "status_changed", "reminder")
KINDS_WITH_OFFERS = (*KINDS, "waitlist_offer")


def _enum(name: str, values: tuple[str, ...]) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=True, create_constraint=True, length=32)


def _utc() -> sa.types.TypeEngine[datetime]:
    return sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql")


def _user_fk(table: str, column: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], ["users.id"], name=op.f(f"fk_{table}_{column}_users"), ondelete="CASCADE"
    )


def _outbox_kinds(old: tuple[str, ...], new: tuple[str, ...]) -> None:
    # SQLite keeps the enum as a CHECK constraint: the batch copy rebuilds it with the new set.
    with op.batch_alter_table("notification_outbox", recreate="auto") as batch_op:
        batch_op.alter_column(
            "kind",
            existing_type=_enum("notification_kind", old),
            type_=_enum("notification_kind", new),
            existing_nullable=False,
        )


def upgrade() -> None:
    op.create_table(
        "waitlist_entries",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("patient_id", sa.String(36), nullable=False),
        sa.Column("provider_id", sa.String(36), nullable=True),
        sa.Column("specialty", sa.String(100), nullable=True),
        sa.Column("visit_type", _enum("appointment_type", APPOINTMENT_TYPES), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("first_day", sa.Date(), nullable=False),
        sa.Column("last_day", sa.Date(), nullable=False),
        sa.Column("time_of_day", _enum("waitlist_time_of_day", TIMES_OF_DAY), nullable=False),
        sa.Column("status", _enum("waitlist_entry_status", ENTRY_STATUSES), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("ended_at", _utc(), nullable=True),
        _user_fk("waitlist_entries", "patient_id"),
        _user_fk("waitlist_entries", "provider_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waitlist_entries")),
    )
    op.create_index(
        "ix_waitlist_entries_status_provider", "waitlist_entries", ["status", "provider_id"]
    )
    op.create_index(
        "ix_waitlist_entries_status_specialty", "waitlist_entries", ["status", "specialty"]
    )
    op.create_index(
        "ix_waitlist_entries_patient_status", "waitlist_entries", ["patient_id", "status"]
    )
    op.create_table(
        "waitlist_slots",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("provider_id", sa.String(36), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("start_time", sa.Time(), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("status", _enum("waitlist_slot_status", SLOT_STATUSES), nullable=False),
        sa.Column("freed_at", _utc(), nullable=False),
        sa.Column("filled_at", _utc(), nullable=True),
        _user_fk("waitlist_slots", "provider_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waitlist_slots")),
    )
    op.create_index("ix_waitlist_slots_status", "waitlist_slots", ["status"])
    op.create_index(
        "ix_waitlist_slots_provider_day", "waitlist_slots", ["provider_id", "date", "start_time"]
    )
    op.create_table(
        "waitlist_offers",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("slot_id", sa.String(36), nullable=False),
        sa.Column("entry_id", sa.String(36), nullable=False),
        sa.Column("patient_id", sa.String(36), nullable=False),
        sa.Column("status", _enum("waitlist_offer_status", OFFER_STATUSES), nullable=False),
        sa.Column("offered_at", _utc(), nullable=False),
        sa.Column("expires_at", _utc(), nullable=False),
        sa.Column("answered_at", _utc(), nullable=True),
        sa.Column("appointment_id", sa.String(36), nullable=True),
        sa.ForeignKeyConstraint(
            ["slot_id"],
            ["waitlist_slots.id"],
            name=op.f("fk_waitlist_offers_slot_id_waitlist_slots"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["waitlist_entries.id"],
            name=op.f("fk_waitlist_offers_entry_id_waitlist_entries"),
            ondelete="CASCADE",
        ),
        _user_fk("waitlist_offers", "patient_id"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_waitlist_offers")),
        sa.UniqueConstraint(
            "slot_id", "entry_id", name=op.f("uq_waitlist_offers_slot_id_entry_id")
        ),
    )
    op.create_index(
        "ix_waitlist_offers_patient_status", "waitlist_offers", ["patient_id", "status"]
    )
    op.create_index("ix_waitlist_offers_slot_status", "waitlist_offers", ["slot_id", "status"])
    _outbox_kinds(KINDS, KINDS_WITH_OFFERS)


def downgrade() -> None:
    op.execute("DELETE FROM notification_outbox WHERE kind = 'waitlist_offer'")
    _outbox_kinds(KINDS_WITH_OFFERS, KINDS)
    op.drop_table("waitlist_offers")
    op.drop_table("waitlist_slots")
    op.drop_table("waitlist_entries")

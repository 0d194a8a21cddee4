"""notifications: the transactional outbox, patients' reminder preferences, and each
appointment's calendar SEQUENCE

Revision ID: 0006
Revises: audit_seal
Create Date: 2026-12-02 02:00:00
"""

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0006"
down_revision: str | None = "audit_seal"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

KINDS = ("booked", "rescheduled", "cancelled", "status_changed", "reminder")
STATUSES = ("pending", "sent", "skipped", "dead", "superseded")
CHANNELS = ("email",)


def _enum(name: str, values: tuple[str, ...]) -> sa.Enum:
    return sa.Enum(*values, name=name, native_enum=True, create_constraint=True, length=32)


def _utc() -> sa.types.TypeEngine[datetime]:
    return sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql")


def upgrade() -> None:
    op.create_table(
        "notification_outbox",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("message_id", sa.String(255), nullable=False),
        sa.Column("kind", _enum("notification_kind", KINDS), nullable=False),
        sa.Column("channel", _enum("notification_channel", CHANNELS), nullable=False),
        sa.Column("status", _enum("notification_status", STATUSES), nullable=False),
        sa.Column("recipient_id", sa.String(36), nullable=False),
        sa.Column("appointment_id", sa.String(36), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", _utc(), nullable=False),
        sa.Column("claimed_until", _utc(), nullable=True),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("sent_at", _utc(), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.ForeignKeyConstraint(
            ["recipient_id"],
            ["users.id"],
            name=op.f("fk_notification_outbox_recipient_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_outbox")),
        sa.UniqueConstraint("message_id", name=op.f("uq_notification_outbox_message_id")),
    )
    op.create_index(
        "ix_notification_outbox_status_next", "notification_outbox", ["status", "next_attempt_at"]
    )
    op.create_index("ix_notification_outbox_appointment", "notification_outbox", ["appointment_id"])
    op.create_index(
        op.f("ix_notification_outbox_recipient_id"), "notification_outbox", ["recipient_id"]
    )
    op.create_table(
        "notification_preferences",
        sa.Column("user_id", sa.String(36), nullable=False),
        sa.Column("channel", _enum("notification_channel", CHANNELS), nullable=False),
        sa.Column("reminders", sa.Boolean(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_notification_preferences_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "channel", name=op.f("pk_notification_preferences")),
    )
    # Plain ALTERs: a batch copy of appointments would try to write its generated column.
    op.add_column(
        "appointments",
        sa.Column("calendar_sequence", sa.Integer(), nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_column("appointments", "calendar_sequence")
    op.drop_table("notification_preferences")
    op.drop_table("notification_outbox")  # its indexes go with it

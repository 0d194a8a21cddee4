"""provider schedules and per-location time zones: each location's IANA zone, the location of
each weekly window, the zone an appointment is booked in, time off and extra hours

Revision ID: 0011
Revises: 0008
Create Date: 2026-12-02 19:00:00
"""

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0011"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _utc() -> sa.types.TypeEngine[datetime]:
    return sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql")


def _location_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["location_id"],
        ["provider_locations.id"],
        name=op.f(f"fk_{table}_location_id_provider_locations"),
        ondelete="SET NULL",
    )


def _provider_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["provider_id"],
        ["provider_profiles.id"],
        name=op.f(f"fk_{table}_provider_id_provider_profiles"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.add_column("provider_locations", sa.Column("time_zone", sa.String(64), nullable=True))
    # Plain ALTERs: a batch copy of appointments would try to write its generated column.
    op.add_column("appointments", sa.Column("time_zone", sa.String(64), nullable=True))
    with op.batch_alter_table("provider_availability") as batch_op:
        batch_op.add_column(sa.Column("location_id", sa.String(36), nullable=True))
        batch_op.create_foreign_key(
            op.f("fk_provider_availability_location_id_provider_locations"),
            "provider_locations",
            ["location_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_index(
            op.f("ix_provider_availability_location_id"), ["location_id"], unique=False
        )
    # Existing windows were worked at the provider's primary location.
    op.execute(
        "UPDATE provider_availability SET location_id = ("
        " SELECT l.id FROM provider_locations l"
        " WHERE l.provider_id = provider_availability.provider_id AND l.is_primary = 1"
        " ORDER BY l.created_at LIMIT 1)"
    )
    op.create_table(
        "provider_time_off",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("provider_id", sa.String(36), nullable=False),
        sa.Column("start_date", sa.Date(), nullable=False),
        sa.Column("end_date", sa.Date(), nullable=False),
        sa.Column("start_time", sa.Time(), nullable=True),
        sa.Column("end_time", sa.Time(), nullable=True),
        sa.Column("reason", sa.String(200), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.CheckConstraint(
            "start_date <= end_date", name=op.f("ck_provider_time_off_time_off_order")
        ),
        _provider_fk("provider_time_off"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_time_off")),
    )
    op.create_index(
        "ix_provider_time_off_provider_dates",
        "provider_time_off",
        ["provider_id", "end_date", "start_date"],
    )
    op.create_table(
        "provider_extra_hours",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("provider_id", sa.String(36), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("start_time", sa.Time(), nullable=False),
        sa.Column("end_time", sa.Time(), nullable=False),
        sa.Column("location_id", sa.String(36), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.CheckConstraint(
            "start_time < end_time", name=op.f("ck_provider_extra_hours_extra_hours_order")
        ),
        _provider_fk("provider_extra_hours"),
        _location_fk("provider_extra_hours"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_extra_hours")),
    )
    op.create_index(
        "ix_provider_extra_hours_provider_date", "provider_extra_hours", ["provider_id", "date"]
    )
    op.create_index("ix_provider_extra_hours_date", "provider_extra_hours", ["date"])
    op.create_index(
        op.f("ix_provider_extra_hours_location_id"), "provider_extra_hours", ["location_id"]
    )


def downgrade() -> None:
    op.drop_table("provider_extra_hours")
    op.drop_table("provider_time_off")
    with op.batch_alter_table("provider_availability") as batch_op:
        batch_op.drop_constraint(
            op.f("fk_provider_availability_location_id_provider_locations"), type_="foreignkey"
        )
        batch_op.drop_index(op.f("ix_provider_availability_location_id"))
        batch_op.drop_column("location_id")
    op.drop_column("appointments", "time_zone")
    op.drop_column("provider_locations", "time_zone")

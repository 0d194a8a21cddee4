"""medical records authored and amended by doctors: each record's version, and the versions
an amendment replaced

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 03:00:00
"""

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RECORD_TYPES = ("lab_result", "visit_note", "prescription", "imaging", "referral")


def _utc() -> sa.types.TypeEngine[datetime]:
    return sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql")


def upgrade() -> None:
    op.add_column(
        "medical_records",
        sa.Column("version", sa.Integer(), nullable=False, server_default="1"),
    )
    op.create_table(
        "medical_record_versions",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("record_id", sa.String(36), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "type",
            sa.Enum(
                *RECORD_TYPES,
                name="record_type",
                native_enum=True,
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("title", sa.String(255), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("written_at", _utc(), nullable=False),
        sa.Column("amended_by", sa.String(36), nullable=True),
        sa.Column("amended_at", _utc(), nullable=False),
        sa.Column("amendment_reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["medical_records.id"],
            name=op.f("fk_medical_record_versions_record_id_medical_records"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["amended_by"],
            ["users.id"],
            name=op.f("fk_medical_record_versions_amended_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_medical_record_versions")),
        sa.UniqueConstraint(
            "record_id", "version", name=op.f("uq_medical_record_versions_record_id_version")
        ),
    )
    op.create_index(
        op.f("ix_medical_record_versions_record_id"), "medical_record_versions", ["record_id"]
    )


def downgrade() -> None:
    op.drop_table("medical_record_versions")
    op.drop_column("medical_records", "version")

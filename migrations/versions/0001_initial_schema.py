"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-25 19:00:30.593128
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

# Naive UTC; microseconds on MariaDB, whose DATETIME otherwise drops them.
DATETIME_UTC = sa.DateTime().with_variant(mysql.DATETIME(fsp=6), "mysql")


revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_logs",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("timestamp", DATETIME_UTC, nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=True),
        sa.Column("user_role", sa.String(length=16), nullable=True),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("resource", sa.String(length=64), nullable=False),
        sa.Column("resource_id", sa.String(length=64), nullable=True),
        sa.Column("ip", sa.String(length=45), nullable=True),
        sa.Column("user_agent", sa.String(length=500), nullable=True),
        sa.Column("request_id", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=True),
        sa.Column("hash", sa.String(length=64), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_logs")),
    )
    with op.batch_alter_table("audit_logs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_logs_action"), ["action"], unique=False)
        batch_op.create_index("ix_audit_logs_resource", ["resource", "resource_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_logs_timestamp"), ["timestamp"], unique=False)
        batch_op.create_index(
            "ix_audit_logs_user_timestamp", ["user_id", "timestamp"], unique=False
        )

    op.create_table(
        "insurance_plans",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("name_key", sa.String(length=100), nullable=False),
        sa.Column("created_at", DATETIME_UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_insurance_plans")),
        sa.UniqueConstraint("name_key", name=op.f("uq_insurance_plans_name_key")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("email", sa.String(length=255), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column(
            "role",
            sa.Enum(
                "patient",
                "doctor",
                "nurse",
                "admin",
                name="user_role",
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("first_name", sa.String(length=100), nullable=False),
        sa.Column("last_name", sa.String(length=100), nullable=False),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("date_of_birth", sa.Date(), nullable=True),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", DATETIME_UTC, nullable=False),
        sa.Column("updated_at", DATETIME_UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("email", name=op.f("uq_users_email")),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_users_role"), ["role"], unique=False)

    op.create_table(
        "appointments",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("patient_id", sa.String(length=36), nullable=False),
        sa.Column("provider_id", sa.String(length=36), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("start_time", sa.Time(), nullable=False),
        sa.Column(
            "type",
            sa.Enum(
                "routine_checkup",
                "follow_up",
                "consultation",
                "urgent_care",
                "procedure",
                "lab_work",
                "vaccination",
                "telehealth",
                name="appointment_type",
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column(
            "status",
            sa.Enum(
                "scheduled",
                "confirmed",
                "checked_in",
                "completed",
                "cancelled",
                "no_show",
                name="appointment_status",
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("is_virtual", sa.Boolean(), nullable=False),
        sa.Column("virtual_meeting_url", sa.String(length=500), nullable=True),
        sa.Column("location", sa.String(length=500), nullable=True),
        sa.Column("duration", sa.Integer(), nullable=False),
        sa.Column("check_in_time", DATETIME_UTC, nullable=True),
        sa.Column("check_out_time", DATETIME_UTC, nullable=True),
        sa.Column("cancellation_reason", sa.Text(), nullable=True),
        sa.Column("cancelled_at", DATETIME_UTC, nullable=True),
        sa.Column(
            "active_slot",
            sa.Integer(),
            sa.Computed("CASE WHEN status = 'cancelled' THEN NULL ELSE 1 END", persisted=True),
            nullable=True,
        ),
        sa.Column("created_at", DATETIME_UTC, nullable=False),
        sa.Column("updated_at", DATETIME_UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["users.id"],
            name=op.f("fk_appointments_patient_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["users.id"],
            name=op.f("fk_appointments_provider_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_appointments")),
    )
    with op.batch_alter_table("appointments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_appointments_date"), ["date"], unique=False)
        batch_op.create_index("ix_appointments_patient_date", ["patient_id", "date"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_appointments_patient_id"), ["patient_id"], unique=False
        )
        batch_op.create_index(
            "ix_appointments_provider_date", ["provider_id", "date"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_appointments_provider_id"), ["provider_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_appointments_status"), ["status"], unique=False)
        batch_op.create_index(
            "uq_appointments_active_slot",
            ["provider_id", "date", "start_time", "active_slot"],
            unique=True,
        )

    op.create_table(
        "patient_consents",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("patient_id", sa.String(length=36), nullable=False),
        sa.Column(
            "consent_type",
            sa.Enum(
                "data_sharing",
                "telehealth",
                "email_notifications",
                "sms_notifications",
                "research",
                name="consent_type",
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("granted_at", DATETIME_UTC, nullable=False),
        sa.Column("revoked_at", DATETIME_UTC, nullable=True),
        sa.Column("details", sa.Text(), nullable=True),
        sa.Column("created_at", DATETIME_UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["users.id"],
            name=op.f("fk_patient_consents_patient_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patient_consents")),
    )
    with op.batch_alter_table("patient_consents", schema=None) as batch_op:
        batch_op.create_index(
            "ix_patient_consents_patient_type", ["patient_id", "consent_type"], unique=False
        )

    op.create_table(
        "provider_profiles",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("npi", sa.String(length=10), nullable=True),
        sa.Column("title", sa.String(length=10), nullable=True),
        sa.Column("specialty", sa.String(length=100), nullable=False),
        sa.Column("specialties", sa.JSON(), nullable=True),
        sa.Column("bio", sa.Text(), nullable=True),
        sa.Column("languages", sa.JSON(), nullable=True),
        sa.Column("years_of_experience", sa.Integer(), nullable=True),
        sa.Column("education", sa.Text(), nullable=True),
        sa.Column("certifications", sa.JSON(), nullable=True),
        sa.Column("accepting_new_patients", sa.Boolean(), nullable=False),
        sa.Column("rating", sa.Numeric(precision=2, scale=1), nullable=True),
        sa.Column("review_count", sa.Integer(), nullable=True),
        sa.Column("photo_url", sa.String(length=500), nullable=True),
        sa.Column("phone", sa.String(length=20), nullable=True),
        sa.Column("email", sa.String(length=255), nullable=True),
        sa.Column("created_at", DATETIME_UTC, nullable=False),
        sa.Column("updated_at", DATETIME_UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_provider_profiles_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_profiles")),
        sa.UniqueConstraint("npi", name=op.f("uq_provider_profiles_npi")),
        sa.UniqueConstraint("user_id", name=op.f("uq_provider_profiles_user_id")),
    )
    with op.batch_alter_table("provider_profiles", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_provider_profiles_accepting_new_patients"),
            ["accepting_new_patients"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_provider_profiles_rating"), ["rating"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_provider_profiles_specialty"), ["specialty"], unique=False
        )

    op.create_table(
        "refresh_tokens",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.String(length=36), nullable=False),
        sa.Column("family_id", sa.String(length=36), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("expires_at", DATETIME_UTC, nullable=False),
        sa.Column("used_at", DATETIME_UTC, nullable=True),
        sa.Column("revoked_at", DATETIME_UTC, nullable=True),
        sa.Column("created_at", DATETIME_UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_refresh_tokens_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_refresh_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_refresh_tokens_token_hash")),
    )
    with op.batch_alter_table("refresh_tokens", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_refresh_tokens_expires_at"), ["expires_at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_refresh_tokens_family_id"), ["family_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_refresh_tokens_user_id"), ["user_id"], unique=False)

    op.create_table(
        "medical_records",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("patient_id", sa.String(length=36), nullable=False),
        sa.Column("provider_id", sa.String(length=36), nullable=True),
        sa.Column("appointment_id", sa.String(length=36), nullable=True),
        sa.Column(
            "type",
            sa.Enum(
                "lab_result",
                "visit_note",
                "prescription",
                "imaging",
                "referral",
                name="record_type",
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("is_new", sa.Boolean(), nullable=False),
        sa.Column("created_at", DATETIME_UTC, nullable=False),
        sa.Column("updated_at", DATETIME_UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["appointment_id"],
            ["appointments.id"],
            name=op.f("fk_medical_records_appointment_id_appointments"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["users.id"],
            name=op.f("fk_medical_records_patient_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["users.id"],
            name=op.f("fk_medical_records_provider_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_medical_records")),
    )
    with op.batch_alter_table("medical_records", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_medical_records_date"), ["date"], unique=False)
        batch_op.create_index(
            "ix_medical_records_patient_date", ["patient_id", "date"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_medical_records_patient_id"), ["patient_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_medical_records_provider_id"), ["provider_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_medical_records_type"), ["type"], unique=False)

    op.create_table(
        "provider_availability",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("provider_id", sa.String(length=36), nullable=False),
        sa.Column(
            "day_of_week",
            sa.Enum(
                "monday",
                "tuesday",
                "wednesday",
                "thursday",
                "friday",
                "saturday",
                "sunday",
                name="day_of_week",
                create_constraint=True,
                length=32,
            ),
            nullable=False,
        ),
        sa.Column("start_time", sa.Time(), nullable=False),
        sa.Column("end_time", sa.Time(), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("created_at", DATETIME_UTC, nullable=False),
        sa.Column("updated_at", DATETIME_UTC, nullable=False),
        sa.CheckConstraint(
            "start_time < end_time", name=op.f("ck_provider_availability_window_order")
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["provider_profiles.id"],
            name=op.f("fk_provider_availability_provider_id_provider_profiles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_availability")),
    )
    with op.batch_alter_table("provider_availability", schema=None) as batch_op:
        batch_op.create_index(
            "ix_provider_availability_provider_day", ["provider_id", "day_of_week"], unique=False
        )

    op.create_table(
        "provider_insurance_plans",
        sa.Column("provider_id", sa.String(length=36), nullable=False),
        sa.Column("insurance_plan_id", sa.String(length=36), nullable=False),
        sa.ForeignKeyConstraint(
            ["insurance_plan_id"],
            ["insurance_plans.id"],
            name=op.f("fk_provider_insurance_plans_insurance_plan_id_insurance_plans"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["provider_profiles.id"],
            name=op.f("fk_provider_insurance_plans_provider_id_provider_profiles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "provider_id", "insurance_plan_id", name=op.f("pk_provider_insurance_plans")
        ),
    )
    with op.batch_alter_table("provider_insurance_plans", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_provider_insurance_plans_insurance_plan_id"),
            ["insurance_plan_id"],
            unique=False,
        )

    op.create_table(
        "provider_locations",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("provider_id", sa.String(length=36), nullable=False),
        sa.Column("address", sa.String(length=255), nullable=False),
        sa.Column("city", sa.String(length=100), nullable=False),
        sa.Column("state", sa.String(length=2), nullable=False),
        sa.Column("zip_code", sa.String(length=10), nullable=False),
        sa.Column("country", sa.String(length=2), nullable=False),
        sa.Column("is_primary", sa.Boolean(), nullable=False),
        sa.Column("created_at", DATETIME_UTC, nullable=False),
        sa.Column("updated_at", DATETIME_UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["provider_id"],
            ["provider_profiles.id"],
            name=op.f("fk_provider_locations_provider_id_provider_profiles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_provider_locations")),
    )
    with op.batch_alter_table("provider_locations", schema=None) as batch_op:
        batch_op.create_index("ix_provider_locations_city_state", ["city", "state"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_provider_locations_provider_id"), ["provider_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_provider_locations_zip_code"), ["zip_code"], unique=False
        )

    op.create_table(
        "medical_record_attachments",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("record_id", sa.String(length=36), nullable=False),
        sa.Column("file_name", sa.String(length=255), nullable=False),
        sa.Column("file_type", sa.String(length=100), nullable=False),
        sa.Column("file_size", sa.Integer(), nullable=False),
        sa.Column("storage_path", sa.String(length=500), nullable=False),
        sa.Column("url", sa.String(length=500), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("created_at", DATETIME_UTC, nullable=False),
        sa.ForeignKeyConstraint(
            ["record_id"],
            ["medical_records.id"],
            name=op.f("fk_medical_record_attachments_record_id_medical_records"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_medical_record_attachments")),
    )
    with op.batch_alter_table("medical_record_attachments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_medical_record_attachments_record_id"), ["record_id"], unique=False
        )


def downgrade() -> None:
    # Dropping a table drops its indexes; dropping them one by one first fails on MariaDB
    # for indexes that back a foreign key.
    op.drop_table("medical_record_attachments")
    op.drop_table("provider_locations")
    op.drop_table("provider_insurance_plans")
    op.drop_table("provider_availability")
    op.drop_table("medical_records")
    op.drop_table("refresh_tokens")
    op.drop_table("provider_profiles")
    op.drop_table("patient_consents")
    op.drop_table("appointments")
    op.drop_table("users")
    op.drop_table("insurance_plans")
    op.drop_table("audit_logs")

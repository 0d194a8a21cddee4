"""Medical records of a patient and the files attached to them."""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from models.base import (
    Base,
    UtcDateTime,
    created_at_column,
    enum_column,
    id_column,
    updated_at_column,
)
from models.records.rules import RECORD_TYPES
from security.phi import EncryptedText


class MedicalRecord(Base):
    __tablename__ = "medical_records"
    __table_args__ = (sa.Index("ix_medical_records_patient_date", "patient_id", "date"),)

    id: Mapped[str] = id_column()
    patient_id: Mapped[str] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True
    )
    provider_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="SET NULL"), index=True
    )
    appointment_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("appointments.id", ondelete="SET NULL")
    )
    type: Mapped[str] = enum_column("record_type", RECORD_TYPES, nullable=False, index=True)
    title: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    date: Mapped[date] = mapped_column(sa.Date, nullable=False, index=True)
    description: Mapped[str | None] = mapped_column(EncryptedText("medical_records.description"))
    is_new: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=True)
    # 1 as written; one more at every amendment (the earlier ones stay in the versions table).
    version: Mapped[int] = mapped_column(sa.Integer, nullable=False, default=1, server_default="1")
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class MedicalRecordVersion(Base):
    """A record as it read before an amendment replaced it: nothing a doctor corrects is lost
    (the patient's right to amend keeps the original readable). `amended_by` and
    `amendment_reason` say who replaced this version, and why."""

    __tablename__ = "medical_record_versions"
    __table_args__ = (sa.UniqueConstraint("record_id", "version"),)

    id: Mapped[str] = id_column()
    record_id: Mapped[str] = mapped_column(
        sa.ForeignKey("medical_records.id", ondelete="CASCADE"), nullable=False, index=True
    )
    version: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    type: Mapped[str] = enum_column("record_type", RECORD_TYPES, nullable=False)
    title: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    date: Mapped[date] = mapped_column(sa.Date, nullable=False)
    description: Mapped[str | None] = mapped_column(
        EncryptedText("medical_record_versions.description")
    )
    written_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    amended_by: Mapped[str | None] = mapped_column(sa.ForeignKey("users.id", ondelete="SET NULL"))
    amended_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    amendment_reason: Mapped[str] = mapped_column(
        EncryptedText("medical_record_versions.amendment_reason"), nullable=False
    )


class MedicalRecordAttachment(Base):
    """A stored file; `storage_path` is a generated key, never the client's file name."""

    __tablename__ = "medical_record_attachments"

    id: Mapped[str] = id_column()
    record_id: Mapped[str] = mapped_column(
        sa.ForeignKey("medical_records.id", ondelete="CASCADE"), nullable=False, index=True
    )
    file_name: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    file_type: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    file_size: Mapped[int] = mapped_column(sa.Integer, nullable=False)
    storage_path: Mapped[str] = mapped_column(sa.String(500), nullable=False)
    url: Mapped[str | None] = mapped_column(sa.String(500))
    sha256: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = created_at_column()

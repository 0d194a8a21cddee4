"""Consents a patient grants (and may later revoke) for uses of their data."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UtcDateTime, created_at_column, enum_column, id_column

CONSENT_TYPES = (
    "data_sharing",
    "telehealth",
    "email_notifications",
    "sms_notifications",
    "research",
)


class PatientConsent(Base):
    __tablename__ = "patient_consents"
    __table_args__ = (sa.Index("ix_patient_consents_patient_type", "patient_id", "consent_type"),)

    id: Mapped[str] = id_column()
    patient_id: Mapped[str] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    consent_type: Mapped[str] = enum_column("consent_type", CONSENT_TYPES, nullable=False)
    granted_at: Mapped[datetime] = mapped_column(UtcDateTime, nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime)
    details: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = created_at_column()

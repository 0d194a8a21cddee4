"""The consents a patient grants for uses of their data; a revocation keeps the row."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, UtcDateTime, created_at_column, enum_column, id_column
from models.consents.rules import CONSENT_TYPES
from security.phi import EncryptedText


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
    details: Mapped[str | None] = mapped_column(EncryptedText("patient_consents.details"))
    created_at: Mapped[datetime] = created_at_column()

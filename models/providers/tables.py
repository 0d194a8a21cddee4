"""The provider directory: profiles, locations and the insurance plans they accept."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, created_at_column, id_column, updated_at_column
from models.providers.rules import address_line

provider_insurance_plans = sa.Table(
    "provider_insurance_plans",
    Base.metadata,
    sa.Column(
        "provider_id",
        sa.String(36),
        sa.ForeignKey("provider_profiles.id", ondelete="CASCADE"),
        primary_key=True,
    ),
    sa.Column(
        "insurance_plan_id",
        sa.String(36),
        sa.ForeignKey("insurance_plans.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
)


class ProviderProfile(Base):
    """What a doctor's user account shows as a provider; `specialty` holds the enum code."""

    __tablename__ = "provider_profiles"

    id: Mapped[str] = id_column()
    user_id: Mapped[str] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False, unique=True
    )
    npi: Mapped[str | None] = mapped_column(sa.String(10), unique=True)
    title: Mapped[str | None] = mapped_column(sa.String(10))
    specialty: Mapped[str] = mapped_column(sa.String(100), nullable=False, index=True)
    specialties: Mapped[list[str] | None] = mapped_column(sa.JSON)
    bio: Mapped[str | None] = mapped_column(sa.Text)
    languages: Mapped[list[str] | None] = mapped_column(sa.JSON)
    years_of_experience: Mapped[int | None] = mapped_column(sa.Integer)
    education: Mapped[str | None] = mapped_column(sa.Text)
    certifications: Mapped[list[str] | None] = mapped_column(sa.JSON)
    accepting_new_patients: Mapped[bool] = mapped_column(
        sa.Boolean, nullable=False, default=True, index=True
    )
    rating: Mapped[Decimal | None] = mapped_column(
        sa.Numeric(2, 1), default=Decimal("0.0"), index=True
    )
    review_count: Mapped[int | None] = mapped_column(sa.Integer, default=0)
    photo_url: Mapped[str | None] = mapped_column(sa.String(500))
    phone: Mapped[str | None] = mapped_column(sa.String(20))
    email: Mapped[str | None] = mapped_column(sa.String(255))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()


class ProviderLocation(Base):
    __tablename__ = "provider_locations"
    __table_args__ = (sa.Index("ix_provider_locations_city_state", "city", "state"),)

    id: Mapped[str] = id_column()
    provider_id: Mapped[str] = mapped_column(
        sa.ForeignKey("provider_profiles.id", ondelete="CASCADE"), nullable=False, index=True
    )
    address: Mapped[str] = mapped_column(sa.String(255), nullable=False)
    city: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    state: Mapped[str] = mapped_column(sa.String(2), nullable=False)
    zip_code: Mapped[str] = mapped_column(sa.String(10), nullable=False, index=True)
    country: Mapped[str] = mapped_column(sa.String(2), nullable=False, default="US")
    is_primary: Mapped[bool] = mapped_column(sa.Boolean, nullable=False, default=False)
    # The location's IANA time zone ("America/Denver"); NULL: the clinic's (CLINIC_TIMEZONE).
    time_zone: Mapped[str | None] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = updated_at_column()

    @property
    def one_line(self) -> str:
        return address_line(self.address, self.city, self.state, self.zip_code)


class InsurancePlan(Base):
    """A plan name as patients type it ("Blue Cross Blue Shield"); `name_key` is its lowercase."""

    __tablename__ = "insurance_plans"

    id: Mapped[str] = id_column()
    name: Mapped[str] = mapped_column(sa.String(100), nullable=False)
    name_key: Mapped[str] = mapped_column(sa.String(100), nullable=False, unique=True)
    created_at: Mapped[datetime] = created_at_column()

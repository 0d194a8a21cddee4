"""Demo providers: generated deterministically by number, with profile, location, weekly
hours and accepted insurance plans."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import time
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models import (
    InsurancePlan,
    ProviderAvailability,
    ProviderLocation,
    ProviderProfile,
    User,
    provider_insurance_plans,
)
from models.providers.rules import SPECIALTY_NAMES
from portal.ops.demo.data import (
    DISABLED_PASSWORD,
    FIRST_NAMES,
    INSURANCE_PLANS,
    LANGUAGES,
    LAST_NAMES,
    PLACES,
    SCHEDULES,
    SCHOOLS,
    SUBSPECIALTIES,
)
from portal.ops.progress import progress
from security.passwords import hash_password


@dataclass
class SeedReport:
    users: int = 0
    providers: int = 0
    appointments: int = 0
    records: int = 0
    attachments: int = 0

    def __str__(self) -> str:
        return (
            f"added {self.users} users, {self.providers} providers, "
            f"{self.appointments} appointments, {self.records} medical records, "
            f"{self.attachments} attachments"
        )


def _npi(index: int) -> str:
    return f"1{int(hashlib.sha256(str(index).encode()).hexdigest(), 16) % 10**9:09d}"


def hm(text: str) -> time:
    hour, minute = text.split(":")
    return time(int(hour), int(minute))


@dataclass(frozen=True)
class ProviderSpec:
    """What generated provider number `index` (0-based) is: always the same for one number."""

    index: int
    first: str
    last: str
    specialty: str
    email: str
    title: str
    years: int
    address: str
    city: str
    state: str
    zip: str
    languages: list[str]
    plans: list[str]
    schedule: dict[str, list[tuple[str, str]]]
    accepting: bool
    rating: Decimal
    reviews: int
    school: str
    time_zone: str | None = None  # the location's IANA zone; None: the clinic's


def provider_spec(index: int) -> ProviderSpec:
    """The deterministic description of generated provider number `index` (0-based)."""
    rng = random.Random(index * 7919 + 17)
    specialties = list(SPECIALTY_NAMES)
    specialty = specialties[index % len(specialties)]
    if index == 0:  # the sample provider, who is also the demo doctor account
        first, last, specialty = "Sarah", "Johnson", "family_medicine"
    else:
        first = FIRST_NAMES[(index * 7) % len(FIRST_NAMES)]
        last = LAST_NAMES[(index * 11 + index // len(LAST_NAMES)) % len(LAST_NAMES)]
    city, state, zip_code, street = PLACES[index % len(PLACES)]
    years = 15 if index == 0 else rng.randint(3, 32)
    return ProviderSpec(
        index=index,
        first=first,
        last=last,
        specialty=specialty,
        email="doctor1@example.com" if index == 0 else f"provider{index + 1}@clinic.example",
        title=rng.choice(["MD", "MD", "MD", "DO"]),
        years=years,
        address=f"{rng.randint(10, 999)} {street}, Suite {rng.randint(1, 5)}00",
        city=city,
        state=state,
        zip=zip_code,
        languages=["English", *rng.sample(LANGUAGES, rng.randint(0, 2))],
        plans=rng.sample(INSURANCE_PLANS, rng.randint(3, 6)),
        schedule=SCHEDULES[index % len(SCHEDULES)],
        accepting=index % 9 != 4,
        rating=Decimal(str(round(rng.uniform(3.9, 5.0), 1))),
        reviews=rng.randint(12, 480),
        school=rng.choice(SCHOOLS),
    )


def _insurance_plans(session: Session) -> dict[str, InsurancePlan]:
    plans = {p.name: p for p in session.scalars(sa.select(InsurancePlan))}
    for name in INSURANCE_PLANS:
        if name not in plans:
            plans[name] = InsurancePlan(name=name, name_key=name.lower())
            session.add(plans[name])
    return plans


def add_provider(
    session: Session, spec: ProviderSpec, plans: dict[str, InsurancePlan], password_hash: str
) -> ProviderProfile:
    specialty = spec.specialty
    display = SPECIALTY_NAMES[specialty]
    user = User(
        email=spec.email,
        password_hash=password_hash,
        role="doctor",
        first_name=spec.first,
        last_name=spec.last,
        phone=f"555-{1000 + spec.index % 9000:04d}",
    )
    session.add(user)
    session.flush()
    profile = ProviderProfile(
        user_id=user.id,
        npi="1234567890" if spec.index == 0 else _npi(spec.index),
        title=spec.title,
        specialty=specialty,
        specialties=[display, SUBSPECIALTIES[specialty]],
        bio=(
            f"Dr. {spec.last} has {spec.years} years of experience in "
            f"{display.lower()} and cares for patients in {spec.city}."
        ),
        languages=list(spec.languages),
        years_of_experience=spec.years,
        education=spec.school,
        certifications=[f"Board Certified in {display}"],
        accepting_new_patients=spec.accepting,
        rating=spec.rating,
        review_count=spec.reviews,
        photo_url=f"https://cdn.example.com/providers/{user.id}.jpg",
        phone=user.phone,
        email=user.email,
    )
    session.add(profile)
    session.flush()
    location = ProviderLocation(
        provider_id=profile.id,
        address=spec.address,
        city=spec.city,
        state=spec.state,
        zip_code=spec.zip,
        is_primary=True,
        time_zone=spec.time_zone,
    )
    session.add(location)
    session.flush()
    for day, windows in spec.schedule.items():
        for start, end in windows:
            session.add(
                ProviderAvailability(
                    provider_id=profile.id,
                    day_of_week=day,
                    start_time=hm(start),
                    end_time=hm(end),
                    location_id=location.id,
                )
            )
    for name in spec.plans:
        session.execute(
            sa.insert(provider_insurance_plans).values(
                provider_id=profile.id, insurance_plan_id=plans[name].id
            )
        )
    return profile


def seed_providers(session: Session, count: int, demo_password: str, report: SeedReport) -> None:
    """Make sure generated providers number 0..count-1 exist (looked up by email)."""
    plans = _insurance_plans(session)
    session.flush()
    existing = set(session.scalars(sa.select(User.email).where(User.role == "doctor")))
    demo_hash = hash_password(demo_password)
    with progress("providers", count, "providers") as bar:
        for index in range(count):
            bar.update(1)
            spec = provider_spec(index)
            if spec.email in existing:
                continue
            add_provider(session, spec, plans, demo_hash if index == 0 else DISABLED_PASSWORD)
            report.providers += 1
            report.users += 1
            if index % 500 == 499:
                session.flush()

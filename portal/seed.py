"""Demo data (`portal db seed`): providers across all specialties, demo accounts, appointments and
medical records with real attachment files. Deterministic, and idempotent: running it again adds
nothing that is already there."""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models import (
    Appointment,
    InsurancePlan,
    MedicalRecord,
    MedicalRecordAttachment,
    ProviderAvailability,
    ProviderLocation,
    ProviderProfile,
    User,
    provider_insurance_plans,
)
from models.providers import SPECIALTY_NAMES, WEEKDAYS
from portal.sample_files import pdf_document, png_image
from portal.seed_scale import seed_generated_appointments
from portal.storage import Storage, new_storage_key
from security.passwords import hash_password

if TYPE_CHECKING:
    from portal.runtime import Services

DEFAULT_PROVIDERS = 24
DISABLED_PASSWORD = "!login-disabled"  # not an argon2 hash: verification always fails

FIRST_NAMES = [
    "James", "Maria", "Robert", "Aisha", "Michael", "Priya", "David", "Elena", "William",
    "Grace", "Daniel", "Sofia", "Thomas", "Mei", "Andrew", "Fatima", "Benjamin", "Olivia",
    "Samuel", "Hannah", "Lucas", "Amara", "Nathan", "Isabel", "Ethan", "Leila", "Jonah",
    "Claire", "Omar", "Rachel",
]  # fmt: skip
LAST_NAMES = [
    "Chen", "Patel", "Okafor", "Rodriguez", "Kim", "Nguyen", "Goldberg", "O'Brien", "Haddad",
    "Müller", "Rossi", "Kowalski", "Tanaka", "Silva", "Andersson", "Walsh", "Hernandez",
    "Ibrahim", "Park", "Fischer", "Murphy", "Ramirez", "Cohen", "Dubois", "Singh", "Lopez",
    "Bennett", "Adeyemi", "Sullivan", "Novak",
]  # fmt: skip
PLACES = [
    ("Boston", "MA", "02114", "Cambridge St"),
    ("Boston", "MA", "02115", "Longwood Ave"),
    ("Cambridge", "MA", "02139", "Massachusetts Ave"),
    ("Somerville", "MA", "02143", "Highland Ave"),
    ("Brookline", "MA", "02445", "Harvard St"),
    ("Newton", "MA", "02458", "Washington St"),
    ("Quincy", "MA", "02169", "Hancock St"),
    ("Worcester", "MA", "01608", "Main St"),
    ("Providence", "RI", "02903", "Eddy St"),
    ("Portland", "ME", "04101", "Congress St"),
    ("Manchester", "NH", "03101", "Elm St"),
    ("Hartford", "CT", "06106", "Seymour St"),
]
INSURANCE_PLANS = [
    "Aetna", "Blue Cross Blue Shield", "Cigna", "UnitedHealthcare", "Harvard Pilgrim",
    "Tufts Health Plan", "Medicare", "Medicaid", "Humana", "Kaiser Permanente",
]  # fmt: skip
LANGUAGES = ["Spanish", "Mandarin", "Portuguese", "French", "Arabic", "Hindi", "Vietnamese"]
SUBSPECIALTIES = {
    "family_medicine": "Preventive Medicine",
    "cardiology": "Echocardiography",
    "dermatology": "Cosmetic Dermatology",
    "internal_medicine": "Geriatric Medicine",
    "neurology": "Headache Medicine",
    "obstetrics_gynecology": "Maternal-Fetal Medicine",
    "oncology": "Hematology",
    "ophthalmology": "Retina",
    "orthopedics": "Sports Medicine",
    "pediatrics": "Adolescent Medicine",
    "psychiatry": "Child and Adolescent Psychiatry",
    "radiology": "Interventional Radiology",
    "surgery": "General Surgery",
    "urology": "Endourology",
}
SCHOOLS = [
    "Harvard Medical School", "Johns Hopkins School of Medicine", "Yale School of Medicine",
    "Boston University School of Medicine", "Tufts University School of Medicine",
    "UMass Chan Medical School", "Columbia Vagelos College of Physicians and Surgeons",
]  # fmt: skip
SCHEDULES = [
    {d: [("09:00", "12:00"), ("13:00", "17:00")] for d in WEEKDAYS[:5]},
    {d: [("08:00", "12:00")] for d in ("monday", "wednesday", "friday")}
    | {d: [("12:00", "18:00")] for d in ("tuesday", "thursday")},
    {d: [("10:00", "16:00")] for d in WEEKDAYS[:4]} | {"saturday": [("09:00", "13:00")]},
    {d: [("07:30", "11:30"), ("12:30", "15:30")] for d in ("monday", "tuesday", "thursday")},
]

PATIENTS = [
    ("patient1@example.com", "Emily", "Carter", date(1985, 3, 14)),
    ("patient2@example.com", "Marcus", "Reed", date(1972, 11, 2)),
    ("patient3@example.com", "Ana", "Souza", date(1994, 6, 21)),
    ("patient4@example.com", "George", "Whitfield", date(1958, 1, 30)),
    ("patient5@example.com", "Yuki", "Morales", date(2001, 9, 8)),
]
STAFF = [
    ("nurse1@example.com", "nurse", "Linda", "Brooks"),
    ("admin@example.com", "admin", "Alex", "Morgan"),
]
RECORDS = [
    ("lab_result", "Annual Blood Work", "Complete metabolic panel, lipid panel and CBC", "pdf"),
    ("lab_result", "Hemoglobin A1c", "A1c 5.4%, within the normal range", "pdf"),
    ("lab_result", "Thyroid Panel", "TSH and free T4 within normal limits", "pdf"),
    ("visit_note", "Annual Physical", "Routine physical; no acute concerns", "pdf"),
    ("visit_note", "Follow-up Visit", "Blood pressure improved on current dose", "pdf"),
    ("prescription", "Lisinopril 10 mg", "Once daily; 90-day supply, 3 refills", "pdf"),
    ("prescription", "Amoxicillin 500 mg", "Three times daily for 10 days", "pdf"),
    ("imaging", "Chest X-Ray", "PA and lateral views; lungs clear", "png"),
    ("imaging", "Knee MRI", "No meniscal tear; mild effusion", "png"),
    ("referral", "Referral to Cardiology", "Evaluation of intermittent palpitations", "pdf"),
    ("referral", "Referral to Physical Therapy", "Six sessions for knee strengthening", "pdf"),
]
APPOINTMENT_REASONS = [
    "Annual physical examination and wellness checkup",
    "Follow-up on blood pressure medication",
    "Persistent lower back pain for two weeks",
    "Review of recent lab results",
    "Seasonal allergy symptoms not improving",
]


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


def _hm(text: str) -> time:
    hour, minute = text.split(":")
    return time(int(hour), int(minute))


def _provider_spec(index: int) -> dict[str, object]:
    """The deterministic description of generated provider number `index` (0-based)."""
    rng = random.Random(index * 7919 + 17)
    specialties = list(SPECIALTY_NAMES)
    specialty = specialties[index % len(specialties)]
    if index == 0:  # the plan's sample provider, who is also the demo doctor account
        first, last, specialty = "Sarah", "Johnson", "family_medicine"
    else:
        first = FIRST_NAMES[(index * 7) % len(FIRST_NAMES)]
        last = LAST_NAMES[(index * 11 + index // len(LAST_NAMES)) % len(LAST_NAMES)]
    city, state, zip_code, street = PLACES[index % len(PLACES)]
    years = 15 if index == 0 else rng.randint(3, 32)
    return {
        "index": index,
        "first": first,
        "last": last,
        "specialty": specialty,
        "email": "doctor1@example.com" if index == 0 else f"provider{index + 1}@clinic.example",
        "title": rng.choice(["MD", "MD", "MD", "DO"]),
        "years": years,
        "address": f"{rng.randint(10, 999)} {street}, Suite {rng.randint(1, 5)}00",
        "city": city,
        "state": state,
        "zip": zip_code,
        "languages": ["English", *rng.sample(LANGUAGES, rng.randint(0, 2))],
        "plans": rng.sample(INSURANCE_PLANS, rng.randint(3, 6)),
        "schedule": SCHEDULES[index % len(SCHEDULES)],
        "accepting": index % 9 != 4,
        "rating": Decimal(str(round(rng.uniform(3.9, 5.0), 1))),
        "reviews": rng.randint(12, 480),
        "school": rng.choice(SCHOOLS),
    }


def _insurance_plans(session: Session) -> dict[str, InsurancePlan]:
    plans = {p.name: p for p in session.scalars(sa.select(InsurancePlan))}
    for name in INSURANCE_PLANS:
        if name not in plans:
            plans[name] = InsurancePlan(name=name, name_key=name.lower())
            session.add(plans[name])
    return plans


def _add_provider(
    session: Session, spec: dict[str, object], plans: dict[str, InsurancePlan], password_hash: str
) -> ProviderProfile:
    specialty = str(spec["specialty"])
    display = SPECIALTY_NAMES[specialty]
    user = User(
        email=str(spec["email"]),
        password_hash=password_hash,
        role="doctor",
        first_name=str(spec["first"]),
        last_name=str(spec["last"]),
        phone=f"555-{1000 + int(spec['index']) % 9000:04d}",
    )
    session.add(user)
    session.flush()
    profile = ProviderProfile(
        user_id=user.id,
        npi="1234567890" if spec["index"] == 0 else _npi(int(spec["index"])),
        title=str(spec["title"]),
        specialty=specialty,
        specialties=[display, SUBSPECIALTIES[specialty]],
        bio=(
            f"Dr. {spec['last']} has {spec['years']} years of experience in "
            f"{display.lower()} and cares for patients in {spec['city']}."
        ),
        languages=list(spec["languages"]),  # type: ignore[call-overload]
        years_of_experience=int(spec["years"]),  # type: ignore[call-overload]
        education=str(spec["school"]),
        certifications=[f"Board Certified in {display}"],
        accepting_new_patients=bool(spec["accepting"]),
        rating=spec["rating"],  # type: ignore[arg-type]
        review_count=int(spec["reviews"]),  # type: ignore[call-overload]
        photo_url=f"https://cdn.example.com/providers/{user.id}.jpg",
        phone=user.phone,
        email=user.email,
    )
    session.add(profile)
    session.flush()
    session.add(
        ProviderLocation(
            provider_id=profile.id,
            address=str(spec["address"]),
            city=str(spec["city"]),
            state=str(spec["state"]),
            zip_code=str(spec["zip"]),
            is_primary=True,
        )
    )
    for day, windows in spec["schedule"].items():  # type: ignore[attr-defined]
        for start, end in windows:
            session.add(
                ProviderAvailability(
                    provider_id=profile.id,
                    day_of_week=day,
                    start_time=_hm(start),
                    end_time=_hm(end),
                )
            )
    for name in spec["plans"]:  # type: ignore[attr-defined]
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
    for index in range(count):
        spec = _provider_spec(index)
        if spec["email"] in existing:
            continue
        _add_provider(session, spec, plans, demo_hash if index == 0 else DISABLED_PASSWORD)
        report.providers += 1
        report.users += 1
        if index % 500 == 499:
            session.flush()


def _ensure_user(
    session: Session,
    email: str,
    role: str,
    first: str,
    last: str,
    password_hash: str,
    report: SeedReport,
    born: date | None = None,
) -> tuple[User, bool]:
    user = session.scalar(sa.select(User).where(User.email == email))
    if user is not None:
        return user, False
    user = User(
        email=email, password_hash=password_hash, role=role, first_name=first, last_name=last,
        date_of_birth=born, phone="555-0100",
    )  # fmt: skip
    session.add(user)
    session.flush()
    report.users += 1
    return user, True


def _slot_times(schedule: dict[str, list[tuple[str, str]]], day: date) -> list[time]:
    windows = schedule.get(WEEKDAYS[day.weekday()], [])
    slots = []
    for start, end in windows:
        minutes, stop = (
            _hm(start).hour * 60 + _hm(start).minute,
            _hm(end).hour * 60 + _hm(end).minute,
        )
        while minutes + 30 <= stop:
            slots.append(time(minutes // 60, minutes % 60))
            minutes += 30
    return slots


def _seed_appointments(
    session: Session, patient: User, number: int, today: date, report: SeedReport
) -> None:
    """Two past (completed) and three upcoming (scheduled) visits on real free slots."""
    providers = session.execute(
        sa.select(User.id, User.email, ProviderLocation)
        .join(ProviderProfile, ProviderProfile.user_id == User.id)
        .join(ProviderLocation, ProviderLocation.provider_id == ProviderProfile.id)
        .where(ProviderLocation.is_primary.is_(True))
        .order_by(User.email)  # doctor1@ first, so the demo doctor has patients
        .limit(len(SCHEDULES) * 3)
    ).all()
    taken = {
        (p, d, t)
        for p, d, t in session.execute(
            sa.select(Appointment.provider_id, Appointment.date, Appointment.start_time).where(
                Appointment.status != "cancelled"
            )
        )
    }
    offsets = [-60 - number * 3, -20 - number, 3 + number, 10 + number * 2, 30 + number * 3]
    for visit, offset in enumerate(offsets):
        provider_id, email, location = providers[(number * 5 + visit) % len(providers)]
        spec_index = _index_of(email)
        schedule = _provider_spec(spec_index)["schedule"]
        day = today + timedelta(days=offset)
        for _ in range(14):
            slots = [t for t in _slot_times(schedule, day) if (provider_id, day, t) not in taken]  # type: ignore[arg-type]
            if slots:
                break
            day += timedelta(days=1)
        else:
            continue
        start = slots[(number + visit) % len(slots)]
        taken.add((provider_id, day, start))
        past = offset < 0
        session.add(
            Appointment(
                patient_id=patient.id,
                provider_id=provider_id,
                date=day,
                start_time=start,
                type=["routine_checkup", "follow_up", "consultation", "lab_work", "telehealth"][
                    visit
                ],
                status="completed" if past else "scheduled",
                reason=APPOINTMENT_REASONS[(number + visit) % len(APPOINTMENT_REASONS)],
                notes="Please bring a list of current medications." if visit == 2 else None,
                is_virtual=visit == 4,
                virtual_meeting_url=(
                    f"https://meet.portal.example/visit/{hashlib.sha1(f'{patient.id}{visit}'.encode()).hexdigest()[:12]}"
                    if visit == 4
                    else None
                ),
                location=None if visit == 4 else location.one_line,
                duration=30,
            )
        )
        report.appointments += 1


def _index_of(email: str) -> int:
    if email == "doctor1@example.com":
        return 0
    return int(email.removeprefix("provider").split("@")[0]) - 1


def _seed_records(
    session: Session,
    storage: Storage,
    patient: User,
    number: int,
    today: date,
    report: SeedReport,
) -> None:
    doctors = session.scalars(
        sa.select(User.id).where(User.role == "doctor").order_by(User.email).limit(6)
    ).all()
    for index, (kind, title, description, file_kind) in enumerate(RECORDS):
        record_date = today - timedelta(days=7 + index * 23 + number)
        record = MedicalRecord(
            patient_id=patient.id,
            provider_id=doctors[(index + number) % len(doctors)],
            type=kind,
            title=title,
            date=record_date,
            description=description,
            is_new=index < 3,
        )
        session.add(record)
        session.flush()
        slug = title.lower().replace(" ", "-")
        if file_kind == "pdf":
            content = pdf_document(
                title,
                [
                    f"Patient: {patient.first_name} {patient.last_name}",
                    f"Date: {record_date.isoformat()}",
                    description,
                ],
            )
            name, mime = f"{slug}-{record_date.isoformat()}.pdf", "application/pdf"
        else:
            content = png_image(48, 48, seed=index + number)
            name, mime = f"{slug}-{record_date.isoformat()}.png", "image/png"
        key = new_storage_key("records")
        storage.save(key, [content])
        attachment = MedicalRecordAttachment(
            record_id=record.id,
            file_name=name,
            file_type=mime,
            file_size=len(content),
            storage_path=key,
            sha256=hashlib.sha256(content).hexdigest(),
        )
        session.add(attachment)
        session.flush()
        attachment.url = f"/api/medical-records/{record.id}/attachments/{attachment.id}/download"
        report.records += 1
        report.attachments += 1


def seed(
    session: Session,
    storage: Storage,
    *,
    demo_password: str,
    today: date,
    providers: int = DEFAULT_PROVIDERS,
    appointments: int = 0,
) -> SeedReport:
    """Add whatever part of the demo data is missing. The caller commits.

    `appointments` > 0 also generates that many bookings of generated patients (scale tests).
    """
    report = SeedReport()
    seed_providers(session, max(providers, 1), demo_password, report)
    session.flush()
    report.appointments += seed_generated_appointments(session, appointments, today)
    demo_hash = hash_password(demo_password)
    for email, role, first, last in STAFF:
        _ensure_user(session, email, role, first, last, demo_hash, report)
    for number, (email, first, last, born) in enumerate(PATIENTS):
        patient, created = _ensure_user(
            session, email, "patient", first, last, demo_hash, report, born=born
        )
        if created:
            _seed_appointments(session, patient, number, today, report)
            _seed_records(session, storage, patient, number, today, report)
    return report


def clinic_today(zone: object) -> date:
    return datetime.now(zone).date()  # type: ignore[arg-type]


def seed_with_settings(
    current: Services, *, providers: int = DEFAULT_PROVIDERS, appointments: int = 0
) -> SeedReport:
    """`seed` in one unit of work, with the app's demo password and the clinic's today."""
    settings = current.settings
    return current.db.run(
        lambda session: seed(
            session,
            current.storage,
            demo_password=settings.demo_password,
            today=clinic_today(settings.clinic_zone),
            providers=providers,
            appointments=appointments,
        ),
        attempts=1,
    )

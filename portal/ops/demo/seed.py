"""Demo data (`portal db seed`): providers across all specialties, demo accounts, appointments and
medical records with real attachment files. Deterministic, and idempotent: running it again adds
nothing that is already there."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.orm import Session

from adapters.storage import Storage, new_storage_key
from models import (
    Appointment,
    InsurancePlan,
    MedicalRecord,
    MedicalRecordAttachment,
    ProviderLocation,
    ProviderProfile,
    User,
)
from models.appointments.rules.slots import WEEKDAY_NAMES
from models.appointments.tables import ProviderExtraHours, ProviderTimeOff
from portal.ops.demo.data import (
    APPOINTMENT_REASONS,
    DEFAULT_PROVIDERS,
    FRONT_DESK_DAY,
    FRONT_DESK_NURSE,
    FRONT_DESK_PATIENTS,
    FRONT_DESK_PROVIDER,
    PATIENTS,
    RECORDS,
    SCHEDULES,
    STAFF,
    WEST_DOCTOR,
    WEST_EXTRA_SATURDAY_AFTER_DAYS,
    WEST_PLACE,
    WEST_SCHEDULE,
    WEST_TIME_OFF_IN_DAYS,
    WEST_ZONE,
)
from portal.ops.demo.providers import (
    SeedReport,
    add_provider,
    hm,
    provider_spec,
    seed_providers,
)
from portal.ops.demo.sample_files import pdf_document, png_image
from portal.ops.demo.scale import seed_generated_appointments
from portal.runtime import Services
from security.passwords import hash_password

# The zone the front desk's check-in and check-out times are set in (the default clinic's).
DEMO_ZONE = ZoneInfo("America/New_York")


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
    windows = schedule.get(WEEKDAY_NAMES[day.weekday()], [])
    slots = []
    for start, end in windows:
        minutes, stop = (
            hm(start).hour * 60 + hm(start).minute,
            hm(end).hour * 60 + hm(end).minute,
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
        schedule = provider_spec(spec_index).schedule
        day = today + timedelta(days=offset)
        for _ in range(14):
            slots = [t for t in _slot_times(schedule, day) if (provider_id, day, t) not in taken]
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


def _seed_front_desk_day(session: Session, today: date, zone: ZoneInfo, report: SeedReport) -> None:
    """One visit in every status of the lifecycle with one provider around today, for the
    front desk's lists (check-in and check-out times where the status has them)."""
    provider_id = session.scalar(sa.select(User.id).where(User.email == FRONT_DESK_PROVIDER))
    patients = session.scalars(
        sa.select(User).where(User.email.in_(FRONT_DESK_PATIENTS)).order_by(User.email)
    ).all()
    if provider_id is None or not patients:
        return
    schedule = provider_spec(_index_of(FRONT_DESK_PROVIDER)).schedule
    taken: set[tuple[date, time]] = {
        (d, t)
        for d, t in session.execute(
            sa.select(Appointment.date, Appointment.start_time).where(
                Appointment.provider_id == provider_id, Appointment.status != "cancelled"
            )
        )
    }
    for number, (offset, status) in enumerate(FRONT_DESK_DAY):
        day = today + timedelta(days=offset)
        while not _slot_times(schedule, day):  # the provider's next working day that way
            day += timedelta(days=-1 if offset < 0 else 1)
        free = [t for t in _slot_times(schedule, day) if (day, t) not in taken]
        if not free:
            continue
        start = free[number % len(free)]
        taken.add((day, start))
        begins = datetime.combine(day, start, zone)
        session.add(
            Appointment(
                patient_id=patients[number % len(patients)].id,
                provider_id=provider_id,
                date=day,
                start_time=start,
                type="follow_up",
                status=status,
                reason=APPOINTMENT_REASONS[number % len(APPOINTMENT_REASONS)],
                duration=30,
                check_in_time=(
                    begins - timedelta(minutes=10)
                    if status in ("checked_in", "completed")
                    else None
                ),
                check_out_time=begins + timedelta(minutes=30) if status == "completed" else None,
                cancelled_at=begins - timedelta(days=1) if status == "cancelled" else None,
                cancellation_reason="Provider unavailable" if status == "cancelled" else None,
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
    zone: ZoneInfo = DEMO_ZONE,
) -> SeedReport:
    """Add whatever part of the demo data is missing. The caller commits.

    `appointments` > 0 also generates that many bookings of generated patients (scale tests).
    """
    report = SeedReport()
    seed_providers(session, max(providers, 1), demo_password, report)
    session.flush()
    seed_generated_appointments(session, appointments, today, report)
    demo_hash = hash_password(demo_password)
    front_desk_is_new = False
    for email, role, first, last in STAFF:
        _, created = _ensure_user(session, email, role, first, last, demo_hash, report)
        front_desk_is_new |= created and email == FRONT_DESK_NURSE
    for number, (email, first, last, born) in enumerate(PATIENTS):
        patient, created = _ensure_user(
            session, email, "patient", first, last, demo_hash, report, born=born
        )
        if created:
            _seed_appointments(session, patient, number, today, report)
            _seed_records(session, storage, patient, number, today, report)
    if front_desk_is_new:
        session.flush()
        _seed_front_desk_day(session, today, zone, report)
    # After the patients' visits, which go to the generated providers only.
    _seed_west_coast_doctor(session, demo_hash, today, report)
    return report


def _seed_west_coast_doctor(
    session: Session, password_hash: str, today: date, report: SeedReport
) -> None:
    """A demo doctor (who can log in) at a location in the second zone, with a day off and a
    Saturday of extra hours: the schedules in two time zones."""
    if session.scalar(sa.select(User.id).where(User.email == WEST_DOCTOR)) is not None:
        return
    city, state, zip_code, street = WEST_PLACE
    spec = dataclasses.replace(
        provider_spec(1),
        index=9000,  # its own NPI and phone, clear of the generated providers'
        first="Daniel",
        last="Reyes",
        specialty="family_medicine",
        email=WEST_DOCTOR,
        address=street,
        city=city,
        state=state,
        zip=zip_code,
        schedule=WEST_SCHEDULE,
        accepting=True,
        time_zone=WEST_ZONE,
    )
    plans = {p.name: p for p in session.scalars(sa.select(InsurancePlan))}
    profile = add_provider(session, spec, plans, password_hash)
    report.providers += 1
    report.users += 1
    day_off = today + timedelta(days=WEST_TIME_OFF_IN_DAYS)
    while day_off.weekday() >= 5:
        day_off += timedelta(days=1)
    saturday = today + timedelta(days=WEST_EXTRA_SATURDAY_AFTER_DAYS)
    while saturday.weekday() != 5:
        saturday += timedelta(days=1)
    location_id = session.scalar(
        sa.select(ProviderLocation.id).where(ProviderLocation.provider_id == profile.id)
    )
    session.add_all(
        [
            ProviderTimeOff(
                provider_id=profile.id, start_date=day_off, end_date=day_off, reason="Training"
            ),
            ProviderExtraHours(
                provider_id=profile.id,
                date=saturday,
                start_time=time(9),
                end_time=time(12),
                location_id=location_id,
            ),
        ]
    )


def clinic_today(zone: ZoneInfo) -> date:
    return datetime.now(zone).date()


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
            zone=settings.clinic_zone,
        ),
        attempts=1,
    )

"""The demo data: enough providers across every specialty, the demo accounts, records with
real files, and a seed that adds nothing when run twice."""

from __future__ import annotations

from collections import Counter

import sqlalchemy as sa

from models import (
    Appointment,
    MedicalRecord,
    MedicalRecordAttachment,
    ProviderAvailability,
    ProviderLocation,
    ProviderProfile,
    User,
    provider_insurance_plans,
)
from models.appointments.rules.visits import APPOINTMENT_STATUSES
from models.providers.rules import SPECIALTY_NAMES
from portal.ops.demo.seed import seed
from tests.conftest import DEMO_PASSWORD, SEED_DAY

DEMO_ACCOUNTS = {
    **{f"patient{n}@example.com": "patient" for n in range(1, 6)},
    "doctor1@example.com": "doctor",
    "nurse1@example.com": "nurse",
    "admin@example.com": "admin",
    "frontdesk@example.com": "nurse",
}


def test_providers_cover_every_specialty_with_location_hours_and_insurance(db_session) -> None:
    profiles = db_session.scalars(sa.select(ProviderProfile)).all()
    assert len(profiles) >= 20
    assert {p.specialty for p in profiles} == set(SPECIALTY_NAMES)
    for profile in profiles:
        primary = db_session.scalars(
            sa.select(ProviderLocation).where(
                ProviderLocation.provider_id == profile.id, ProviderLocation.is_primary
            )
        ).all()
        assert len(primary) == 1
        assert db_session.scalar(
            sa.select(sa.func.count()).where(ProviderAvailability.provider_id == profile.id)
        )
        assert db_session.scalar(
            sa.select(sa.func.count()).where(provider_insurance_plans.c.provider_id == profile.id)
        )
    names = {
        (u.first_name, u.last_name)
        for u in db_session.scalars(sa.select(User).where(User.role == "doctor"))
    }
    assert len(names) == len(profiles), "every provider has a distinct, realistic name"
    assert not any(first.startswith("Provider") for first, _ in names)


def test_demo_accounts_exist_and_log_in(client, db_session) -> None:
    roles = dict(db_session.execute(sa.select(User.email, User.role)).all())
    for email, role in DEMO_ACCOUNTS.items():
        assert roles[email] == role
    for email in (
        "patient3@example.com",
        "doctor1@example.com",
        "nurse1@example.com",
        "admin@example.com",
    ):
        response = client.post("/api/auth/login", json={"email": email, "password": DEMO_PASSWORD})
        assert response.status_code == 200, email
    doctor = db_session.scalar(sa.select(User).where(User.email == "doctor1@example.com"))
    assert db_session.scalar(sa.select(ProviderProfile).where(ProviderProfile.user_id == doctor.id))


def test_every_patient_has_records_with_real_files_and_appointments(db_session, services) -> None:
    patients = db_session.scalars(sa.select(User).where(User.role == "patient")).all()
    assert len(patients) == 5
    for patient in patients:
        records = db_session.scalars(
            sa.select(MedicalRecord).where(MedicalRecord.patient_id == patient.id)
        ).all()
        assert len(records) >= 10
        assert Counter(r.type for r in records).keys() == {
            "lab_result",
            "visit_note",
            "prescription",
            "imaging",
            "referral",
        }
        appointments = db_session.scalars(
            sa.select(Appointment).where(Appointment.patient_id == patient.id)
        ).all()
        assert any(a.date < SEED_DAY for a in appointments)
        assert any(a.date > SEED_DAY and a.status == "scheduled" for a in appointments)
    attachments = db_session.scalars(sa.select(MedicalRecordAttachment)).all()
    assert len(attachments) >= 50
    for attachment in attachments[:8]:
        content = b"".join(services.storage.open(attachment.storage_path))
        assert len(content) == attachment.file_size
        if attachment.file_type == "application/pdf":
            assert content.startswith(b"%PDF-1.4") and content.rstrip().endswith(b"%%EOF")
        else:
            assert attachment.file_type == "image/png"
            assert content.startswith(b"\x89PNG\r\n\x1a\n")


def test_the_front_desk_has_a_visit_in_every_status(db_session) -> None:
    statuses = set(db_session.scalars(sa.select(Appointment.status).distinct()))
    assert statuses == set(APPOINTMENT_STATUSES)
    checked_in = db_session.scalars(
        sa.select(Appointment).where(Appointment.status == "checked_in")
    ).all()
    assert checked_in and all(a.check_in_time is not None for a in checked_in)
    completed_by_front_desk = db_session.scalars(
        sa.select(Appointment).where(
            Appointment.status == "completed", Appointment.check_out_time.is_not(None)
        )
    ).all()
    assert completed_by_front_desk
    assert all(a.check_in_time < a.check_out_time for a in completed_by_front_desk)


def test_seeded_upcoming_appointments_never_overlap(db_session) -> None:
    rows = db_session.execute(
        sa.select(Appointment.provider_id, Appointment.date, Appointment.start_time).where(
            Appointment.status != "cancelled"
        )
    ).all()
    assert len(rows) == len(set(rows))


def test_seeding_again_adds_nothing(services) -> None:
    def count_all(session) -> dict[str, int]:  # type: ignore[no-untyped-def]
        return {
            model.__tablename__: session.scalar(sa.select(sa.func.count()).select_from(model))
            for model in (User, ProviderProfile, Appointment, MedicalRecord)
        }

    before = services.db.run(count_all)
    report = services.db.run(
        lambda session: seed(session, services.storage, demo_password=DEMO_PASSWORD, today=SEED_DAY)
    )
    assert (report.users, report.providers, report.appointments, report.records) == (0, 0, 0, 0)
    assert services.db.run(count_all) == before


def test_more_providers_on_request(services) -> None:
    report = services.db.run(
        lambda session: seed(
            session, services.storage, demo_password=DEMO_PASSWORD, today=SEED_DAY, providers=40
        )
    )
    assert report.providers == 16
    with services.db.new_session() as session:
        assert (
            session.scalar(sa.select(sa.func.count()).select_from(ProviderProfile)) == 41
        )  # and doctor2


def test_schedules_span_two_time_zones_with_time_off_and_extra_hours(client, db_session) -> None:
    from models.appointments.tables import ProviderExtraHours, ProviderTimeOff

    zones = set(db_session.scalars(sa.select(ProviderLocation.time_zone).distinct()))
    assert "America/Los_Angeles" in zones and None in zones  # None: the clinic's (New York)
    west = db_session.scalar(sa.select(User).where(User.email == "doctor2@example.com"))
    assert west is not None and west.role == "doctor"
    profile = db_session.scalar(
        sa.select(ProviderProfile).where(ProviderProfile.user_id == west.id)
    )
    assert db_session.scalar(
        sa.select(sa.func.count()).where(ProviderAvailability.provider_id == profile.id)
    )
    assert db_session.scalar(sa.select(sa.func.count()).select_from(ProviderTimeOff))
    assert db_session.scalar(sa.select(sa.func.count()).select_from(ProviderExtraHours))
    login = client.post(
        "/api/auth/login", json={"email": "doctor2@example.com", "password": DEMO_PASSWORD}
    )
    assert login.status_code == 200

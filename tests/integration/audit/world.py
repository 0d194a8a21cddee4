"""The rows the audited-operation scenarios act on, made fresh for each test: a patient with an
appointment, a record with a file, a consent, a waitlist entry and two open offers, their doctor,
and another patient and doctor to be refused."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from functools import cached_property
from typing import Any

import sqlalchemy as sa

from models import Appointment, User
from models.consents.tables import PatientConsent
from models.waitlist.tables import WaitlistEntry, WaitlistOffer, WaitlistSlot
from portal.runtime import Services
from tests.support.appointments import NEXT_WEDNESDAY, NOON, NY
from tests.support.factories import a_doctor, a_patient, a_record, an_appointment

NURSE = "nurse1@example.com"
ADMIN = "admin@example.com"
DEMO_PATIENT = "patient1@example.com"  # the one whose password is known (login, password)
# The world's appointment: next Wednesday 09:00-09:30 in the clinic.
START = datetime.combine(NEXT_WEDNESDAY, time(9), tzinfo=NY)


@dataclass
class World:
    services: Services
    client: Any
    auth: Any
    ids: dict[str, str] = field(default_factory=dict)
    emails: dict[str, str] = field(default_factory=dict)

    @classmethod
    def build(cls, services: Services, client: Any, auth: Any) -> World:
        world = cls(services, client, auth)
        with services.db.new_session() as session:
            patient, other = a_patient(session), a_patient(session)
            doctor, other_doctor = a_doctor(session), a_doctor(session)
            visit = an_appointment(session, patient, doctor, NEXT_WEDNESDAY, time(9))
            record = a_record(session, patient, doctor=doctor)
            consent = PatientConsent(
                patient_id=patient.id, consent_type="telehealth", granted_at=NOON
            )
            entry = WaitlistEntry(
                patient_id=patient.id,
                specialty="family_medicine",
                visit_type="routine_checkup",
                reason="Hoping to be seen sooner",
                first_day=NEXT_WEDNESDAY,
                last_day=NEXT_WEDNESDAY + timedelta(days=7),
                time_of_day="any",
                status="active",
                created_at=NOON,
            )
            session.add_all([consent, entry])
            session.flush()
            offers = []
            for start in (time(10), time(11)):
                slot = WaitlistSlot(
                    provider_id=doctor.id,
                    date=NEXT_WEDNESDAY,
                    start_time=start,
                    minutes=30,
                    status="offering",
                    freed_at=NOON,
                )
                session.add(slot)
                session.flush()
                offer = WaitlistOffer(
                    slot_id=slot.id,
                    entry_id=entry.id,
                    patient_id=patient.id,
                    status="open",
                    offered_at=NOON,
                    expires_at=NOON + timedelta(hours=1),
                )
                session.add(offer)
                session.flush()
                offers.append(offer)
            rows: dict[str, User] = {
                "patient": patient, "other": other, "doctor": doctor, "other_doctor": other_doctor
            }  # fmt: skip
            world.ids.update({name: user.id for name, user in rows.items()})
            world.emails.update({name: user.email for name, user in rows.items()})
            world.ids.update(
                appointment=visit.id, record=record.id, consent=consent.id, entry=entry.id,
                offer=offers[0].id, second_offer=offers[1].id,
            )  # fmt: skip
            session.commit()
        world.emails.update(nurse=NURSE, admin=ADMIN, demo=DEMO_PATIENT)
        return world

    def __getattr__(self, name: str) -> str:
        try:
            return self.__dict__["ids"][name]
        except KeyError:
            raise AttributeError(name) from None

    def services_user_id(self, email: str) -> str:
        return str(self.auth.user(email).id)

    def headers(self, who: str) -> dict[str, str]:
        return dict(self.auth(self.emails[who]))

    def set_status(self, status: str) -> None:
        with self.services.db.new_session() as session:
            session.execute(
                sa.update(Appointment)
                .where(Appointment.id == self.ids["appointment"])
                .values(status=status)
            )
            session.commit()

    def created(self, method: str, url: str, who: str, **request: Any) -> str:
        """The id of what an HTTP call made (for the scenarios that remove or read it)."""
        response = self.client.request(method, url, headers=self.headers(who), **request)
        assert response.status_code in (200, 201), response.text
        return str(response.json()["id"])

    @cached_property
    def attachment(self) -> str:
        return self.created(
            "POST",
            f"/api/medical-records/{self.record}/attachments",
            "doctor",
            files={"file": ("note.txt", b"plain text note", "text/plain")},
        )

    @cached_property
    def time_off(self) -> str:
        return self.created(
            "POST", f"/api/providers/{self.doctor}/time-off", "doctor",
            json={"startDate": "2026-12-07"},
        )  # fmt: skip

    @cached_property
    def extra_hours(self) -> str:
        return self.created(
            "POST", f"/api/providers/{self.doctor}/extra-hours", "doctor",
            json={"date": "2026-12-05", "startTime": "09:00 AM", "endTime": "12:00 PM"},
        )  # fmt: skip


def missing() -> str:
    """An id nothing has."""
    return str(uuid.uuid4())

"""Shared helpers of the medical-records tests: seeded rows looked up without the API."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models import Appointment, MedicalRecord, MedicalRecordAttachment, User

PDF_BYTES = b"%PDF-1.4\n" + bytes(range(256)) * 8 + b"\n%%EOF\n"
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\x0dIHDR" + bytes(500)
JPEG_BYTES = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + bytes(300)
TEXT_BYTES = "Blood pressure log\n120/80 mmHg — morning\n".encode()
DICOM_BYTES = bytes(128) + b"DICM" + b"\x02\x00\x00\x00UL\x04\x00" + bytes(200)


def user_id(session: Session, email: str) -> str:
    return session.scalar(sa.select(User.id).where(User.email == email))  # type: ignore[return-value]


def records_of(session: Session, email: str) -> list[MedicalRecord]:
    """The patient's records, newest first (the seed makes the newest three `is_new`)."""
    return list(
        session.scalars(
            sa.select(MedicalRecord)
            .join(User, User.id == MedicalRecord.patient_id)
            .where(User.email == email)
            .order_by(MedicalRecord.date.desc())
        )
    )


def first_attachment(session: Session, record_id: str) -> MedicalRecordAttachment:
    attachment = session.scalar(
        sa.select(MedicalRecordAttachment).where(MedicalRecordAttachment.record_id == record_id)
    )
    assert attachment is not None
    return attachment


@dataclass(frozen=True)
class DoctorView:
    """What a doctor may see, computed the slow, obvious way (to check the API's query)."""

    authored: set[str]
    of_patients: set[str]

    @property
    def all(self) -> set[str]:
        return self.authored | self.of_patients


def doctor_view(session: Session, doctor_id: str) -> DoctorView:
    patients = {
        a.patient_id
        for a in session.scalars(sa.select(Appointment).where(Appointment.provider_id == doctor_id))
        if a.status != "cancelled"
    }
    records = list(session.scalars(sa.select(MedicalRecord)))
    return DoctorView(
        authored={r.id for r in records if r.provider_id == doctor_id},
        of_patients={r.id for r in records if r.patient_id in patients},
    )


def unrelated_doctor(session: Session) -> User:
    """A doctor who authored no record and has no appointment."""
    busy = set(session.scalars(sa.select(MedicalRecord.provider_id))) | set(
        session.scalars(sa.select(Appointment.provider_id))
    )
    for doctor in session.scalars(
        sa.select(User).where(User.role == "doctor").order_by(User.email)
    ):
        if doctor.id not in busy:
            return doctor
    raise AssertionError("the seed has no doctor without records or appointments")


def upload(client, headers, record_id: str, name: str, content: bytes, mime: str):  # type: ignore[no-untyped-def]
    return client.post(
        f"/api/medical-records/{record_id}/attachments",
        headers=headers,
        files={"file": (name, content, mime)},
    )


def committed(session: Session, model: type, row_id: str):  # type: ignore[no-untyped-def]
    """The row as last committed (ends the session's read transaction first)."""
    session.rollback()
    return session.get(model, row_id)

"""Reading medical records: who may see which, one page of them with their provider and files.

`visible_records` is the one place where "who sees which record" is written: the list filters by
it and the single-record checks (`security.policy`) ask it about one id.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models.appointments import Appointment
from models.medical_records import MedicalRecord, MedicalRecordAttachment
from models.providers import SPECIALTY_NAMES, ProviderProfile
from models.users import User

ALL_RECORDS_ROLES = ("nurse", "admin")


def visible_records(role: str, user_id: str) -> sa.ColumnElement[bool]:
    """SQL condition: the records a user of `role` may read.

    patient: their own. doctor: those they authored, and those of patients they have a
    (non-cancelled) appointment with. nurse, admin: all. Anyone else: none.
    """
    if role == "patient":
        return MedicalRecord.patient_id == user_id
    if role == "doctor":
        my_patients = sa.select(Appointment.patient_id).where(
            Appointment.provider_id == user_id, Appointment.status != "cancelled"
        )
        return sa.or_(
            MedicalRecord.provider_id == user_id, MedicalRecord.patient_id.in_(my_patients)
        )
    if role in ALL_RECORDS_ROLES:
        return sa.true()
    return sa.false()


def can_read_record(session: Session, role: str, user_id: str, record_id: str) -> bool:
    return bool(
        session.scalar(
            sa.select(
                sa.exists().where(MedicalRecord.id == record_id, visible_records(role, user_id))
            )
        )
    )


@dataclass(frozen=True)
class RecordFilter:
    type: str | None = None
    start_date: date | None = None
    end_date: date | None = None


@dataclass
class RecordRow:
    """One record as the list shows it: the record, its author's block and its files."""

    record: MedicalRecord
    provider: User | None
    specialty: str | None
    attachments: list[MedicalRecordAttachment] = field(default_factory=list)


def list_records(
    session: Session,
    visible: sa.ColumnElement[bool],
    where: RecordFilter,
    page: int,
    limit: int,
) -> tuple[list[RecordRow], int]:
    """One page, newest first, and the total; three queries whatever the page size."""
    conditions = [visible]
    if where.type:
        conditions.append(MedicalRecord.type == where.type)
    if where.start_date:
        conditions.append(MedicalRecord.date >= where.start_date)
    if where.end_date:
        conditions.append(MedicalRecord.date <= where.end_date)
    total = session.scalar(sa.select(sa.func.count(MedicalRecord.id)).where(*conditions)) or 0
    page_rows = session.execute(
        sa.select(MedicalRecord, User, ProviderProfile.specialty)
        .outerjoin(User, User.id == MedicalRecord.provider_id)
        .outerjoin(ProviderProfile, ProviderProfile.user_id == User.id)
        .where(*conditions)
        .order_by(
            MedicalRecord.date.desc(), MedicalRecord.created_at.desc(), MedicalRecord.id.desc()
        )
        .limit(limit)
        .offset((page - 1) * limit)
    ).all()
    rows = [
        RecordRow(record, provider, SPECIALTY_NAMES.get(code, code) if code else None)
        for record, provider, code in page_rows
    ]
    files = attachments_of(session, [row.record.id for row in rows])
    for row in rows:
        row.attachments = files.get(row.record.id, [])
    return rows, total


def attachments_of(
    session: Session, record_ids: list[str]
) -> dict[str, list[MedicalRecordAttachment]]:
    if not record_ids:
        return {}
    found: dict[str, list[MedicalRecordAttachment]] = defaultdict(list)
    for attachment in session.scalars(
        sa.select(MedicalRecordAttachment)
        .where(MedicalRecordAttachment.record_id.in_(record_ids))
        .order_by(MedicalRecordAttachment.created_at, MedicalRecordAttachment.id)
    ):
        found[attachment.record_id].append(attachment)
    return found


def find_attachment(
    session: Session, record_id: str, attachment_id: str
) -> MedicalRecordAttachment | None:
    """The attachment, only if it belongs to that record."""
    return session.scalar(
        sa.select(MedicalRecordAttachment).where(
            MedicalRecordAttachment.id == attachment_id,
            MedicalRecordAttachment.record_id == record_id,
        )
    )


def download_url(record_id: str, attachment_id: str) -> str:
    return f"/api/medical-records/{record_id}/attachments/{attachment_id}/download"

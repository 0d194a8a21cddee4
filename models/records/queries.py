"""Reading medical records: one page of them with their provider and files, one attachment.

Which records a caller may see is the access policy's `RecordAccess`
(`security.policy.records`); `visible` is its translation into SQL, used by the list and by
the single-record checks alike.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models.accounts.tables import User
from models.appointments.queries.availability import patients_in_care_of
from models.providers.rules import specialty_name
from models.providers.tables import ProviderProfile
from models.records.tables import MedicalRecord, MedicalRecordAttachment, MedicalRecordVersion
from security.policy.records import RecordAccess


def visible(access: RecordAccess) -> sa.ColumnElement[bool]:
    """SQL condition: the records `access` covers."""
    if access.all_records:
        return sa.true()
    covered: list[sa.ColumnElement[bool]] = []
    if access.patient_id is not None:
        covered.append(MedicalRecord.patient_id == access.patient_id)
    if access.provider_id is not None:
        covered.append(MedicalRecord.provider_id == access.provider_id)
        covered.append(MedicalRecord.patient_id.in_(patients_in_care_of(access.provider_id)))
    return sa.or_(*covered) if covered else sa.false()


def is_visible(session: Session, access: RecordAccess, record_id: str) -> bool:
    return bool(
        session.scalar(sa.select(sa.exists().where(MedicalRecord.id == record_id, visible(access))))
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
        _WITH_PROVIDER.where(*conditions)
        .order_by(
            MedicalRecord.date.desc(), MedicalRecord.created_at.desc(), MedicalRecord.id.desc()
        )
        .limit(limit)
        .offset((page - 1) * limit)
    ).all()
    return _with_files(session, page_rows), total


def record_row(session: Session, record_id: str) -> RecordRow | None:
    """One record as the list shows it."""
    found = session.execute(_WITH_PROVIDER.where(MedicalRecord.id == record_id)).all()
    rows = _with_files(session, found)
    return rows[0] if rows else None


_WITH_PROVIDER = (
    sa.select(MedicalRecord, User, ProviderProfile.specialty)
    .outerjoin(User, User.id == MedicalRecord.provider_id)
    .outerjoin(ProviderProfile, ProviderProfile.user_id == User.id)
)


def _with_files(session: Session, found: Sequence[Any]) -> list[RecordRow]:
    rows = [
        RecordRow(record, provider, specialty_name(code) if code else None)
        for record, provider, code in found
    ]
    files = attachments_of(session, [row.record.id for row in rows])
    for row in rows:
        row.attachments = files.get(row.record.id, [])
    return rows


def versions_of(session: Session, record_id: str) -> list[tuple[MedicalRecordVersion, User | None]]:
    """The versions an amendment replaced, oldest first, each with who replaced it."""
    rows = session.execute(
        sa.select(MedicalRecordVersion, User)
        .outerjoin(User, User.id == MedicalRecordVersion.amended_by)
        .where(MedicalRecordVersion.record_id == record_id)
        .order_by(MedicalRecordVersion.version)
    )
    return [(version, author) for version, author in rows]


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

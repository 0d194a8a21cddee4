"""Reading medical records: one page of them with their provider and files, one attachment.

Which records a caller may see is the access policy's `RecordAccess`
(`security.policy.records`); `visible` is its translation into SQL, used by the list and by
the single-record checks alike.

A page is plain rows (no ORM objects: the list only shapes them into JSON) in one statement: the
page of records with their authors and the total across pages (a window column) as a derived
table, and each of its records' files packed into one column by a subquery per row of the page
(outside the derived table, so that only the page's rows ask for their files).
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NamedTuple, Protocol, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from kernel.packed import Packed
from models.accounts.tables import User
from models.appointments.queries.availability import patients_in_care_of
from models.providers.rules import specialty_name
from models.providers.tables import ProviderProfile
from models.records.tables import MedicalRecord, MedicalRecordAttachment, MedicalRecordVersion
from security.policy.records import RecordAccess


def visible(access: RecordAccess) -> sa.ColumnElement[bool]:
    """SQL condition: the records `access` covers."""
    return _covering(access.all_records, access.patient_id, access.provider_id)


def _covering(all_records: bool, patient: Any, provider: Any) -> sa.ColumnElement[bool]:
    """`visible`, for values or for bound parameters standing for them (None: not set)."""
    if all_records:
        return sa.true()
    covered: list[sa.ColumnElement[bool]] = []
    if patient is not None:
        covered.append(MedicalRecord.patient_id == patient)
    if provider is not None:
        covered.append(MedicalRecord.provider_id == provider)
        covered.append(MedicalRecord.patient_id.in_(patients_in_care_of(provider)))
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


class RecordColumns(Protocol):
    """The record's own columns the wire shows: a `MedicalRecord`, or a listed row."""

    @property
    def id(self) -> str: ...
    @property
    def patient_id(self) -> str: ...
    @property
    def provider_id(self) -> str | None: ...
    @property
    def type(self) -> str: ...
    @property
    def title(self) -> str: ...
    @property
    def date(self) -> date: ...
    @property
    def description(self) -> str | None: ...
    @property
    def is_new(self) -> bool: ...
    @property
    def version(self) -> int: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def updated_at(self) -> datetime: ...


class AuthorName(Protocol):
    """Who wrote a record, as the list names them: a `User`, or `Author`."""

    @property
    def id(self) -> str: ...
    @property
    def first_name(self) -> str: ...
    @property
    def last_name(self) -> str: ...


class AttachmentColumns(Protocol):
    """A file as the wire lists it: a `MedicalRecordAttachment`, or a listed row."""

    @property
    def id(self) -> str: ...
    @property
    def record_id(self) -> str: ...
    @property
    def file_name(self) -> str: ...
    @property
    def file_type(self) -> str: ...
    @property
    def file_size(self) -> int: ...


class Author(NamedTuple):
    id: str
    first_name: str
    last_name: str


@dataclass
class RecordRow:
    """One record as the list shows it: the record, its author's block and its files."""

    record: RecordColumns
    provider: AuthorName | None
    specialty: str | None
    attachments: Sequence[AttachmentColumns] = field(default_factory=list)


# The tables, not the mapped classes: a page is plain columns, run on the session's
# connection, so no ORM result (entities, row processors) is built for it.
_RECORDS = cast(sa.Table, MedicalRecord.__table__)
_USERS = cast(sa.Table, User.__table__)
_PROFILES = cast(sa.Table, ProviderProfile.__table__)
_ATTACHMENTS = cast(sa.Table, MedicalRecordAttachment.__table__)


class _ListedRecord(NamedTuple):
    """A record of a page, with its author's columns (None without one), as `_LISTED` unpacks it."""

    id: str
    patient_id: str
    provider_id: str | None
    type: str
    title: str
    date: date
    description: str | None
    is_new: bool
    version: int
    created_at: datetime
    updated_at: datetime
    author_id: str | None
    author_first_name: Any  # str, None exactly when author_id is
    author_last_name: Any
    specialty: str | None


# A page's columns, in `_ListedRecord`'s order, packed into one JSON array per row
# (`kernel.packed`: the MySQL driver parses each column's description in Python), and the total.
_LISTED = Packed(
    (
        *(_RECORDS.c[name] for name in _ListedRecord._fields[:11]),
        _USERS.c.id,
        _USERS.c.first_name,
        _USERS.c.last_name,
        _PROFILES.c.specialty,
    )
)
_FILTERS = {
    "type": lambda value: _RECORDS.c.type == value,
    "start_date": lambda value: _RECORDS.c.date >= value,
    "end_date": lambda value: _RECORDS.c.date <= value,
}


class _ListedFile(NamedTuple):
    """A file of a listed record, as `_FILES` unpacks it (`created_at` orders them)."""

    id: str
    record_id: str
    file_name: str
    file_type: str
    file_size: int
    created_at: datetime


_FILES = Packed(_ATTACHMENTS.c[name] for name in _ListedFile._fields)
_NEWEST_FIRST = ("date", "created_at", "id")


@functools.cache
def _page_statements(
    access: tuple[bool, bool, bool], used: frozenset[str]
) -> tuple[sa.Executable, sa.Executable]:
    """The page and the count for one shape of access (all, a patient's, a provider's) and one
    combination of filters, with bound parameters for the values: built once per shape, so
    SQLAlchemy neither rebuilds them nor recomputes their cache keys per request."""
    all_records, patient, provider = access
    conditions = [
        _covering(
            all_records,
            sa.bindparam("access_patient") if patient else None,
            sa.bindparam("access_provider") if provider else None,
        ),
        *(_FILTERS[name](sa.bindparam(name)) for name in sorted(used)),
    ]
    page = (
        sa.select(
            _LISTED.column,
            sa.func.count().over().label("total"),
            *(_RECORDS.c[name] for name in _NEWEST_FIRST),
        )
        .select_from(_RECORDS)
        .outerjoin(_USERS, _USERS.c.id == _RECORDS.c.provider_id)
        .outerjoin(_PROFILES, _PROFILES.c.user_id == _USERS.c.id)
        .where(*conditions)
        .order_by(*(_RECORDS.c[name].desc() for name in _NEWEST_FIRST))
        .limit(sa.bindparam("limit", type_=sa.Integer))
        .offset(sa.bindparam("offset", type_=sa.Integer))
        .subquery("page")
    )
    files = (
        sa.select(_FILES.aggregated())
        .where(_ATTACHMENTS.c.record_id == page.c.id)
        .scalar_subquery()
        .label("files")
    )
    with_files = sa.select(page.c.packed, page.c.total, files).order_by(
        *(page.c[name].desc() for name in _NEWEST_FIRST)
    )
    count = sa.select(sa.func.count(_RECORDS.c.id)).where(*conditions)
    return with_files, count


# Only when a page's packed files came back cut short (see `Packed.unpack_all`).
_ATTACHMENTS_OF = (
    sa.select(*(_ATTACHMENTS.c[name] for name in _ListedFile._fields))
    .where(_ATTACHMENTS.c.record_id.in_(sa.bindparam("record_ids", expanding=True)))
    .order_by(_ATTACHMENTS.c.created_at, _ATTACHMENTS.c.id)
)


def _files_of_page(
    connection: sa.Connection, found: Sequence[Any], listed: Sequence[_ListedRecord]
) -> dict[str, list[_ListedFile]]:
    """Each listed record's files, oldest first."""
    files: dict[str, list[_ListedFile]] = {}
    try:
        for record, row in zip(listed, found, strict=True):
            unpacked = _FILES.unpack_all(row.files, connection.dialect)
            if unpacked:
                files[record.id] = sorted(
                    (_ListedFile._make(values) for values in unpacked),
                    key=lambda file: (file.created_at, file.id),
                )
    except ValueError:  # an aggregate too long for the server's limit: read them plainly
        files = defaultdict(list)
        for attachment in connection.execute(
            _ATTACHMENTS_OF, {"record_ids": [record.id for record in listed]}
        ):
            files[attachment.record_id].append(_ListedFile._make(attachment))
    return files


def list_records(
    session: Session, access: RecordAccess, where: RecordFilter, page: int, limit: int
) -> tuple[list[RecordRow], int]:
    """One page of the records `access` covers, newest first, and the total."""
    shape = (access.all_records, access.patient_id is not None, access.provider_id is not None)
    values: dict[str, Any] = {
        name: value
        for name, value in (
            ("access_patient", access.patient_id),
            ("access_provider", access.provider_id),
            ("type", where.type or None),
            ("start_date", where.start_date),
            ("end_date", where.end_date),
        )
        if value is not None and not (access.all_records and name.startswith("access_"))
    }
    page_statement, count_statement = _page_statements(
        shape, frozenset(name for name in values if name in _FILTERS)
    )
    connection = session.connection()
    found = connection.execute(
        page_statement, {**values, "limit": limit, "offset": (page - 1) * limit}
    ).all()
    if found:
        total = int(found[0].total)
    elif page == 1:
        total = 0
    else:  # past the last page: no row carries the total
        total = int(connection.execute(count_statement, values).scalar_one())
    dialect = connection.dialect
    listed = [_ListedRecord._make(_LISTED.unpack(row.packed, dialect)) for row in found]
    files = _files_of_page(connection, found, listed)
    rows = [
        RecordRow(
            record=row,
            provider=None
            if row.author_id is None
            else Author(row.author_id, row.author_first_name, row.author_last_name),
            specialty=specialty_name(row.specialty) if row.specialty else None,
            attachments=files.get(row.id, []),
        )
        for row in listed
    ]
    return rows, total


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


class StoredAttachment(AttachmentColumns, Protocol):
    """A file as a download needs it: what the wire lists, and where its bytes are stored."""

    @property
    def storage_path(self) -> str: ...


@dataclass(frozen=True)
class AttachmentOfRecord:
    """What a download asks of one record: whose it is, whether the caller's access covers it,
    whether it is new to its patient, and the attachment asked for (None: no such file of
    that record)."""

    patient_id: str
    visible: bool
    is_new: bool
    attachment: StoredAttachment | None


class _StoredFile(NamedTuple):
    """The attachment asked for, as `_attachment_statement` unpacks it."""

    id: str
    record_id: str
    file_name: str
    file_type: str
    file_size: int
    storage_path: str


@functools.cache
def _attachment_statement(access: tuple[bool, bool, bool]) -> tuple[Packed, sa.Select[Any]]:
    """The record with `visible`'s answer as a column, and the attachment asked for joined to
    it: one statement (built once per shape of access) where a download ran three, its columns
    packed into one (`kernel.packed`)."""
    all_records, patient, provider = access
    covered = _covering(
        all_records,
        sa.bindparam("access_patient") if patient else None,
        sa.bindparam("access_provider") if provider else None,
    )
    packed = Packed(
        (
            _RECORDS.c.patient_id,
            _RECORDS.c.is_new,
            covered,
            *(_ATTACHMENTS.c[name] for name in _StoredFile._fields),
        )
    )
    statement = (
        sa.select(packed.column)
        .select_from(_RECORDS)
        .outerjoin(
            _ATTACHMENTS,
            sa.and_(
                _ATTACHMENTS.c.record_id == _RECORDS.c.id,
                _ATTACHMENTS.c.id == sa.bindparam("attachment_id"),
            ),
        )
        .where(_RECORDS.c.id == sa.bindparam("record_id"))
    )
    return packed, statement


def attachment_of_record(
    session: Session, access: RecordAccess, record_id: str, attachment_id: str
) -> AttachmentOfRecord | None:
    """The record `record_id` as a download of its file `attachment_id` needs it, or None when
    there is no such record."""
    values = {"record_id": record_id, "attachment_id": attachment_id}
    if not access.all_records:
        if access.patient_id is not None:
            values["access_patient"] = access.patient_id
        if access.provider_id is not None:
            values["access_provider"] = access.provider_id
    shape = (access.all_records, "access_patient" in values, "access_provider" in values)
    packed, statement = _attachment_statement(shape)
    found = packed.one(session.connection(), statement, values)
    if found is None:
        return None
    patient_id, is_new, is_visible, *stored = found
    return AttachmentOfRecord(
        patient_id=patient_id,
        visible=bool(is_visible),
        is_new=bool(is_new),
        attachment=None if stored[0] is None else _StoredFile._make(stored),
    )

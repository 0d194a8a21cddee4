"""Packed rows (`kernel.packed`): each value back as its column type returns it, per backend."""

from __future__ import annotations

from datetime import UTC, datetime, time
from decimal import Decimal
from typing import cast

import pytest
import sqlalchemy as sa

from kernel.packed import Packed
from models.appointments.tables import Appointment
from models.providers.tables import ProviderProfile
from models.records.tables import MedicalRecord

APPOINTMENTS = cast(sa.Table, Appointment.__table__)
RECORDS = cast(sa.Table, MedicalRecord.__table__)
PROFILES = cast(sa.Table, ProviderProfile.__table__)


def _packed_and_plain(session: sa.orm.Session, table: sa.Table) -> list[tuple[list, tuple]]:  # type: ignore[type-arg]
    columns = [c for c in table.columns if c.computed is None]
    packed = Packed(columns)
    connection = session.connection()
    rows = connection.execute(
        sa.select(packed.column, *columns).order_by(table.c.id)
    ).all()  # fmt: skip
    return [(packed.unpack(row[0], connection.dialect), tuple(row[1:])) for row in rows]


def test_every_appointment_column_reads_as_its_type(db_session):
    row = db_session.scalars(sa.select(Appointment).order_by(Appointment.id)).first()
    row.notes = 'Bring the "old" results \\ ünïcode 😀'
    row.is_virtual, row.location = True, None
    row.check_in_time = datetime(2026, 1, 2, 9, 1, 2, 345678, tzinfo=UTC)
    row.check_out_time = None
    db_session.commit()
    pairs = _packed_and_plain(db_session, APPOINTMENTS)
    assert pairs and all(packed == list(plain) for packed, plain in pairs)
    first = dict(
        zip([c.key for c in APPOINTMENTS.columns if c.computed is None], pairs[0][0], strict=True)
    )
    assert first["notes"] == 'Bring the "old" results \\ ünïcode 😀'
    assert first["check_in_time"] == datetime(2026, 1, 2, 9, 1, 2, 345678, tzinfo=UTC)
    assert first["is_virtual"] is True and first["location"] is None
    assert first["check_out_time"] is None and isinstance(first["start_time"], time)


def test_every_record_column_reads_as_its_type(db_session):
    pairs = _packed_and_plain(db_session, RECORDS)
    assert pairs and all(packed == list(plain) for packed, plain in pairs)
    assert all(
        isinstance(packed[RECORDS.columns.keys().index("is_new")], bool) for packed, _ in pairs
    )


def test_every_provider_profile_column_reads_as_its_type(db_session):
    rows = db_session.scalars(sa.select(ProviderProfile).order_by(ProviderProfile.id)).all()
    rows[0].languages, rows[0].rating = ["English", 'Fran\u00e7ais "FR"'], Decimal("4.0")
    rows[1].languages, rows[1].certifications, rows[1].rating = None, [], None
    db_session.commit()
    pairs = _packed_and_plain(db_session, PROFILES)
    assert pairs and all(packed == list(plain) for packed, plain in pairs)
    keys = [c.key for c in PROFILES.columns if c.computed is None]
    first, second = (dict(zip(keys, pair[0], strict=True)) for pair in pairs[:2])
    assert first["languages"] == ["English", 'Fran\u00e7ais "FR"']
    assert first["rating"] == Decimal("4.0") and isinstance(first["rating"], Decimal)
    assert second["languages"] is None and second["certifications"] == []
    assert second["rating"] is None


def test_a_column_type_without_a_packed_reading_is_refused():
    with pytest.raises(TypeError):
        Packed([sa.column("payload", sa.LargeBinary)])


def test_one_reads_the_first_row_back_or_none(db_session):
    packed = Packed([APPOINTMENTS.c.id, APPOINTMENTS.c.start_time])
    statement = sa.select(packed.column).where(APPOINTMENTS.c.id == sa.bindparam("id"))
    some_id, start = db_session.execute(
        sa.select(APPOINTMENTS.c.id, APPOINTMENTS.c.start_time)
    ).first()
    connection = db_session.connection()

    assert packed.one(connection, statement, {"id": some_id}) == [some_id, start]
    assert packed.one(connection, statement, {"id": "no-such-appointment"}) is None


def test_aggregated_rows_read_back_as_their_types_and_no_rows_as_none(db_session):
    columns = [APPOINTMENTS.c.id, APPOINTMENTS.c.date, APPOINTMENTS.c.start_time]
    packed = Packed([*columns, APPOINTMENTS.c.created_at, APPOINTMENTS.c.is_virtual])
    connection = db_session.connection()
    plain = connection.execute(
        sa.select(*columns, APPOINTMENTS.c.created_at, APPOINTMENTS.c.is_virtual)
    ).all()
    aggregated = connection.execute(sa.select(packed.aggregated())).scalar()
    unpacked = packed.unpack_all(aggregated, connection.dialect)
    assert len(plain) > 1
    assert sorted(unpacked) == sorted(list(row) for row in plain)
    none = connection.execute(sa.select(packed.aggregated()).where(sa.false())).scalar()
    assert packed.unpack_all(none, connection.dialect) == []
    with pytest.raises(ValueError):  # cut short, as MariaDB cuts a long aggregate
        packed.unpack_all(aggregated[: len(aggregated) // 2], connection.dialect)


def _grouped_and_one_by_one(session: sa.orm.Session) -> tuple[dict, dict]:  # type: ignore[type-arg]
    packed = Packed([APPOINTMENTS.c.id, APPOINTMENTS.c.date, APPOINTMENTS.c.start_time])
    connection = session.connection()
    grouped = {
        provider: sorted(packed.unpack_all(rows, connection.dialect))
        for provider, rows in connection.execute(
            sa.select(APPOINTMENTS.c.provider_id, packed.aggregated()).group_by(
                APPOINTMENTS.c.provider_id
            )
        )
    }
    one_by_one: dict[str, list] = {}  # type: ignore[type-arg]
    for provider, row in connection.execute(sa.select(APPOINTMENTS.c.provider_id, packed.column)):
        one_by_one.setdefault(provider, []).append(packed.unpack(row, connection.dialect))
    return grouped, {provider: sorted(rows) for provider, rows in one_by_one.items()}


def test_aggregated_per_group_reads_every_row_of_each_group_as_unpack_does(db_session):
    grouped, one_by_one = _grouped_and_one_by_one(db_session)

    assert grouped == one_by_one
    assert any(len(rows) > 1 for rows in grouped.values())
    assert all(isinstance(row[2], time) for rows in grouped.values() for row in rows)


def test_a_group_cut_short_by_the_server_fails_instead_of_losing_rows(db_session):
    connection = db_session.connection()
    if connection.dialect.name != "mysql":
        pytest.skip("SQLite's json_group_array has no length limit")
    connection.exec_driver_sql("SET SESSION group_concat_max_len = 64")
    try:
        with pytest.raises(ValueError):
            _grouped_and_one_by_one(db_session)
    finally:
        connection.exec_driver_sql("SET SESSION group_concat_max_len = DEFAULT")

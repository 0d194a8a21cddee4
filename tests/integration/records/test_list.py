"""GET /api/medical-records: filters, roles, shape, paging and a bounded query count."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from models import Appointment, MedicalRecord
from models.records.tables import RECORD_TYPES
from tests.support.records import (
    doctor_view,
    records_of,
    unrelated_doctor,
    user_id,
)

URL = "/api/medical-records"


def _all(client, headers, **params):  # type: ignore[no-untyped-def]
    """Every record the caller sees, following the pages."""
    found, page = [], 1
    while True:
        response = client.get(URL, headers=headers, params={**params, "page": page, "limit": 100})
        assert response.status_code == 200, response.text
        found += response.json()["data"]
        if page >= response.json()["pagination"]["totalPages"]:
            return found
        page += 1


def test_patient_sees_only_own_records_newest_first_with_the_plans_shape(client, auth, db_session):
    mine = records_of(db_session, "patient1@example.com")
    response = client.get(URL, headers=auth("patient1@example.com"))
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["X-Total-Count"] == str(len(mine)) == "11"
    assert response.headers["X-Page"] == "1" and response.headers["X-Per-Page"] == "20"
    body = response.json()
    assert body["pagination"] == {"page": 1, "limit": 20, "total": 11, "totalPages": 1}
    assert {r["id"] for r in body["data"]} == {r.id for r in mine}
    dates = [r["date"] for r in body["data"]]
    assert dates == sorted(dates, reverse=True)
    first = body["data"][0]
    assert set(first) == {
        "id", "patientId", "type", "title", "date", "providerId", "provider", "description",
        "attachments", "isNew", "version", "createdAt", "updatedAt",
    }  # fmt: skip
    assert first["patientId"] == user_id(db_session, "patient1@example.com")
    assert set(first["provider"]) == {"id", "firstName", "lastName", "specialty"}
    assert first["provider"]["id"] == first["providerId"]
    attachment = first["attachments"][0]
    assert set(attachment) == {"id", "fileName", "fileType", "fileSize", "url"}
    assert attachment["url"] == f"{URL}/{first['id']}/attachments/{attachment['id']}/download"
    assert attachment["fileType"] in {"application/pdf", "image/png"}


def test_demo_doctor_appears_with_display_specialty(client, auth, db_session):
    doctor = user_id(db_session, "doctor1@example.com")
    data = _all(client, auth("patient1@example.com"))
    blocks = [r["provider"] for r in data if r["providerId"] == doctor]
    assert blocks and blocks[0] == {
        "id": doctor, "firstName": "Sarah", "lastName": "Johnson", "specialty": "Family Medicine",
    }  # fmt: skip


@pytest.mark.parametrize("record_type", RECORD_TYPES)
def test_type_filter(client, auth, db_session, record_type):
    expected = {
        r.id for r in records_of(db_session, "patient2@example.com") if r.type == record_type
    }
    data = _all(client, auth("patient2@example.com"), type=record_type)
    assert expected and {r["id"] for r in data} == expected
    assert {r["type"] for r in data} == {record_type}


def test_unknown_type_is_a_validation_error(client, auth):
    response = client.get(URL, headers=auth("patient1@example.com"), params={"type": "x_ray"})
    assert response.status_code == 400
    assert response.json()["error"]["details"][0]["field"] == "type"


def test_date_range_is_inclusive_at_both_ends(client, auth, db_session):
    mine = sorted(records_of(db_session, "patient1@example.com"), key=lambda r: r.date)
    start, end = mine[2].date, mine[6].date
    expected = {r.id for r in mine if start <= r.date <= end}
    data = _all(
        client, auth("patient1@example.com"), startDate=start.isoformat(), endDate=end.isoformat()
    )
    assert len(expected) == 5 and {r["id"] for r in data} == expected


def test_start_date_alone_and_end_date_alone(client, auth, db_session):
    mine = records_of(db_session, "patient3@example.com")
    pivot = sorted(r.date for r in mine)[5]
    after = _all(client, auth("patient3@example.com"), startDate=pivot.isoformat())
    before = _all(client, auth("patient3@example.com"), endDate=pivot.isoformat())
    assert {r["id"] for r in after} == {r.id for r in mine if r.date >= pivot}
    assert {r["id"] for r in before} == {r.id for r in mine if r.date <= pivot}


def test_filters_combine(client, auth, db_session):
    mine = records_of(db_session, "patient1@example.com")
    start = min(r.date for r in mine)
    end = sorted(r.date for r in mine)[-4]
    expected = {r.id for r in mine if r.type == "lab_result" and start <= r.date <= end}
    data = _all(
        client, auth("patient1@example.com"), type="lab_result",
        startDate=start.isoformat(), endDate=end.isoformat(),
    )  # fmt: skip
    assert {r["id"] for r in data} == expected


def test_a_reversed_range_is_empty_and_malformed_dates_are_rejected(client, auth):
    headers = auth("patient1@example.com")
    reversed_range = client.get(
        URL, headers=headers, params={"startDate": "2026-05-02", "endDate": "2026-05-01"}
    )
    assert reversed_range.status_code == 200
    assert reversed_range.json()["data"] == []
    assert reversed_range.headers["x-total-count"] == "0"
    malformed = client.get(URL, headers=headers, params={"startDate": "05/01/2026"})
    assert malformed.status_code == 400
    assert malformed.json()["error"]["details"][0]["field"] == "startDate"


def test_paging(client, auth, db_session):
    headers = auth("patient1@example.com")
    pages = [
        client.get(URL, headers=headers, params={"page": p, "limit": 4}).json() for p in (1, 2, 3)
    ]
    assert [len(p["data"]) for p in pages] == [4, 4, 3]
    assert pages[2]["pagination"] == {"page": 3, "limit": 4, "total": 11, "totalPages": 3}
    ids = [r["id"] for p in pages for r in p["data"]]
    assert len(set(ids)) == 11
    beyond = client.get(URL, headers=headers, params={"page": 4, "limit": 4})
    assert beyond.status_code == 200 and beyond.json()["data"] == []
    # past the last page no row carries the total: it is still counted
    assert beyond.json()["pagination"] == {"page": 4, "limit": 4, "total": 11, "totalPages": 3}
    assert client.get(URL, headers=headers, params={"limit": 101}).status_code == 400
    assert client.get(URL, headers=headers, params={"limit": 0}).status_code == 400


@pytest.mark.parametrize("email", ["nurse1@example.com", "admin@example.com"])
def test_nurse_and_admin_see_all_records(client, auth, db_session, email):
    total = db_session.scalar(sa.select(sa.func.count(MedicalRecord.id)))
    response = client.get(URL, headers=auth(email), params={"limit": 100})
    assert response.status_code == 200
    assert response.json()["pagination"]["total"] == total == 55
    assert len({r["patientId"] for r in response.json()["data"]}) == 5


def test_doctor_sees_authored_records_and_those_of_their_patients(client, auth, db_session):
    doctor = user_id(db_session, "doctor1@example.com")
    view = doctor_view(db_session, doctor)
    # The seed gives the demo doctor both kinds, and not every record: the rule is tested.
    assert view.authored and view.of_patients - view.authored
    assert len(view.all) < 55
    data = _all(client, auth("doctor1@example.com"))
    assert {r["id"] for r in data} == view.all


def test_a_cancelled_appointment_does_not_open_the_patients_records(
    client, auth, db_session, services
):
    doctor = user_id(db_session, "doctor1@example.com")
    view = doctor_view(db_session, doctor)
    services.db.run(
        lambda s: s.execute(
            sa.update(Appointment)
            .where(Appointment.provider_id == doctor)
            .values(status="cancelled")
        )
    )
    data = _all(client, auth("doctor1@example.com"))
    assert {r["id"] for r in data} == view.authored


def test_doctor_without_patients_or_records_sees_nothing(client, auth, db_session):
    stranger = unrelated_doctor(db_session)
    response = client.get(URL, headers=auth(stranger.email))
    assert response.status_code == 200
    assert response.json()["data"] == [] and response.headers["X-Total-Count"] == "0"


def test_no_token_is_401(client):
    response = client.get(URL)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "AUTHENTICATION_ERROR"


def test_the_number_of_queries_does_not_grow_with_the_page(client, auth, services):
    headers = auth("nurse1@example.com")
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):  # type: ignore[no-untyped-def]
        statements.append(statement)

    counts = []
    event.listen(services.db.engine, "before_cursor_execute", count)
    try:
        for limit in (1, 10, 55):
            statements.clear()
            response = client.get(URL, headers=headers, params={"limit": limit})
            assert response.status_code == 200
            assert len(response.json()["data"]) == limit
            # the audit trail's own bookkeeping (chain head) is not part of the listing
            counts.append(
                len(
                    [
                        s
                        for s in statements
                        if s.lstrip().upper().startswith("SELECT") and "audit_" not in s
                    ]
                )
            )
    finally:
        event.remove(services.db.engine, "before_cursor_execute", count)
    assert counts == [1, 1, 1]  # the page with its total and its files

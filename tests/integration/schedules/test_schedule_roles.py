"""Who may read and change a provider's schedule, operation by operation: the provider and an
admin change it, nurses read it, other doctors and patients are refused (403), no token 401;
a refused change leaves the rows as they were."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import time_machine

from tests.support.appointments import NOON, user_id
from tests.support.schedules import MONDAY, SATURDAY, schedule_rows, schedule_url, windows_body

OWN = "doctor1@example.com"
OTHER_DOCTOR = "provider2@clinic.example"
READERS = {OWN: 200, "nurse1@example.com": 200, "admin@example.com": 200,
           OTHER_DOCTOR: 403, "patient1@example.com": 403, None: 401}  # fmt: skip
EDITORS = {OWN: True, "admin@example.com": True, "nurse1@example.com": False,
           OTHER_DOCTOR: False, "patient1@example.com": False, None: False}  # fmt: skip


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOON, tick=False):
        yield


def _headers(auth, who: str | None) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {} if who is None else auth(who)


@pytest.mark.parametrize("part", ["availability", "time-off", "extra-hours"])
@pytest.mark.parametrize("who", list(READERS), ids=str)
def test_reading_a_schedule(client, auth, doctor, part: str, who: str | None):
    response = client.get(schedule_url(doctor, part), headers=_headers(auth, who))
    assert response.status_code == READERS[who], response.text
    if response.status_code == 200:
        body = response.json()
        rows = body["windows"] if part == "availability" else body["data"]
        assert rows or part != "availability"
        assert all(w["timeZone"] == "America/New_York" for w in rows)
    else:
        assert response.json()["error"]["code"]


def _time_off(client, headers, doctor):  # type: ignore[no-untyped-def]
    body = {"startDate": MONDAY.isoformat(), "reason": "Conference"}
    return client.post(schedule_url(doctor, "time-off"), json=body, headers=headers)


def _extra_hours(client, headers, doctor):  # type: ignore[no-untyped-def]
    body = {"date": SATURDAY.isoformat(), "startTime": "09:00 AM", "endTime": "12:00 PM"}
    return client.post(schedule_url(doctor, "extra-hours"), json=body, headers=headers)


def _replace(client, headers, doctor, admin):  # type: ignore[no-untyped-def]
    windows = client.get(schedule_url(doctor, "availability"), headers=admin).json()["windows"]
    kept = [w for w in windows if w["dayOfWeek"] != "friday"]  # Fridays off
    return client.put(
        schedule_url(doctor, "availability"), json=windows_body(kept), headers=headers
    )


def _delete(part: str, create: Callable[..., Any]) -> Callable[..., Any]:
    def delete(client, headers, doctor, admin):  # type: ignore[no-untyped-def]
        made = create(client, admin, doctor)
        assert made.status_code == 201, made.text
        return client.delete(schedule_url(doctor, part, made.json()["id"]), headers=headers)

    return delete


# operation -> (call, status when allowed, which row count it changes and by how much)
WRITES = {
    "replaceProviderAvailability": (_replace, 200, "availability", -2),
    "createProviderTimeOff": (lambda c, h, d, a: _time_off(c, h, d), 201, "time-off", 1),
    "deleteProviderTimeOff": (_delete("time-off", _time_off), 204, "time-off", 0),
    "createProviderExtraHours": (lambda c, h, d, a: _extra_hours(c, h, d), 201, "extra-hours", 1),
    "deleteProviderExtraHours": (_delete("extra-hours", _extra_hours), 200, "extra-hours", 0),
}


@pytest.mark.parametrize("operation", list(WRITES))
@pytest.mark.parametrize("who", list(EDITORS), ids=str)
def test_changing_a_schedule(client, auth, db_session, doctor, operation: str, who: str | None):
    call, allowed, part, change = WRITES[operation]
    before = schedule_rows(db_session, doctor)
    response = call(client, _headers(auth, who), doctor, auth("admin@example.com"))
    after = schedule_rows(db_session, doctor)
    if EDITORS[who]:
        assert response.status_code == allowed, response.text
        assert after[part] == before[part] + change
    else:
        assert response.status_code == (401 if who is None else 403), response.text
        deleted = operation.startswith("delete")  # the admin's setup row is still there
        assert after[part] == before[part] + (1 if deleted else 0)


def test_a_nurse_may_read_but_an_admin_changes_anyone_s_schedule(client, auth, db_session):
    other = user_id(db_session, OTHER_DOCTOR)
    read = client.get(schedule_url(other, "time-off"), headers=auth("nurse1@example.com"))
    assert read.status_code == 200
    made = _time_off(client, auth("admin@example.com"), other)
    assert made.status_code == 201, made.text
    refused = _time_off(client, auth(OWN), other)
    assert refused.status_code == 403
    assert schedule_rows(db_session, other)["time-off"] == 1


def test_an_unknown_provider_or_row_is_404(client, auth, doctor):
    admin = auth("admin@example.com")
    nobody = "7d0b1d7c-3f5e-4a63-9b1e-2f0c4a7c9e11"
    assert client.get(schedule_url(nobody, "availability"), headers=admin).status_code == 404
    assert client.delete(schedule_url(doctor, "time-off", nobody), headers=admin).status_code == 404
    gone = client.delete(schedule_url(doctor, "extra-hours", nobody), headers=admin)
    assert gone.status_code == 404
    assert gone.json()["error"]["message"] == "Extra hours not found"

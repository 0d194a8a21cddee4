"""For every audited operation of the spec: a call that succeeds, one that is refused (403) and
one that fails (404/409/422, or 401 for a public operation), each with the resource and the
patient its audit entry must name. `test_phi_operations_audited` walks the spec against this
table, so an operation without its scenarios fails the suite."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from tests.conftest import DEMO_PASSWORD
from tests.integration.audit.world import START, World, missing
from tests.support.appointments import NEXT_WEDNESDAY, REASON

# `resource_id=CREATED`: the entry names what the call created (the answer's `id`).
CREATED = object()


@dataclass
class Call:
    who: str | None  # a world's name (its headers are sent), or None: no bearer
    params: dict[str, str]
    resource_id: Any
    subject: str | None
    request: dict[str, Any] = field(default_factory=dict)
    at: Any = None  # when the call is made (default: the world's noon)
    prepare: Callable[[], None] | None = None


Scenario = Callable[[World], Call]


def _booking(w: World, provider: str) -> dict[str, Any]:
    return {
        "json": {"providerId": provider, "date": NEXT_WEDNESDAY.isoformat(), "time": "10:00 AM",
                 "type": "routine_checkup", "reason": REASON}
    }  # fmt: skip


def _visit(who: str, **extra: Any) -> Scenario:
    """A call on the world's appointment by `who`."""
    return lambda w: Call(who, {"id": w.appointment}, w.appointment, w.patient, **extra)


def _no_visit(who: str, request: dict[str, Any] | None = None) -> Scenario:
    """A call on an appointment that does not exist: 404, naming the id asked for."""
    return lambda w: (lambda gone: Call(who, {"id": gone}, gone, None, request or {}))(missing())


def _lifecycle(
    may: str, may_not: str, status: str, at: Any, body: dict[str, Any] | None = None
) -> dict[str, Scenario]:
    request = {"json": body} if body else {}
    return {
        "success": lambda w: Call(
            may,
            {"id": w.appointment},
            w.appointment,
            w.patient,
            request,
            at,
            lambda: w.set_status(status),
        ),
        "denied": _visit(may_not, at=at),
        "failure": _no_visit(may),
    }


def _own(who: str, resource: Callable[[World], str | None] = lambda w: None) -> Scenario:
    """A patient-only call (no path parameter) by `who`, about themselves if a patient."""

    def call(w: World) -> Call:
        is_patient = who == "patient"
        return Call(who, {}, resource(w) if is_patient else None, w.patient if is_patient else None)

    return call


def _schedule(
    path_param: str | None, body: dict[str, Any] | None, item: Callable[[World], str] | None
) -> dict[str, Scenario]:
    """A schedule change: no patient, the resource is the provider or its time off/hours."""
    request = {"json": body} if body else {}

    def params(w: World, provider: str, thing: str | None) -> dict[str, str]:
        return {"providerId": provider, **({path_param: thing} if path_param and thing else {})}

    def success(w: World) -> Call:
        thing = item(w) if item else None
        expected = thing if thing else (CREATED if path_param == "new" else w.doctor)
        return Call("doctor", params(w, w.doctor, thing), expected, None, request)

    def denied(w: World) -> Call:
        thing = item(w) if item else None
        return Call("other_doctor", params(w, w.doctor, thing), thing or w.doctor, None, request)

    def failure(w: World) -> Call:
        gone = missing()
        if item:  # the provider is there, its time off or extra hours are not
            return Call("doctor", params(w, w.doctor, gone), gone, None, request)
        return Call("admin", params(w, gone, None), gone, None, request)

    return {"success": success, "denied": denied, "failure": failure}


def _records(who: str, record: Callable[[World], str], **extra: Any) -> Scenario:
    return lambda w: Call(who, {"recordId": record(w)}, record(w), w.patient, **extra)


MOVE = {"json": {"date": NEXT_WEDNESDAY.isoformat(), "time": "02:00 PM"}}
CANCEL = {"json": {"reason": "Feeling much better"}}
AMENDMENT = {"json": {"reason": "The dose was recorded wrongly", "title": "Follow-up"}}
FILE = {"files": {"file": ("note.txt", b"plain text note", "text/plain")}}
WAITLIST = {
    "json": {"specialty": "cardiology", "startDate": NEXT_WEDNESDAY.isoformat(),
             "endDate": NEXT_WEDNESDAY.isoformat(), "type": "consultation",
             "reason": "Hoping to be seen sooner"}
}  # fmt: skip
LOGIN = {"json": {"email": "patient1@example.com", "password": DEMO_PASSWORD}}


def _login(w: World) -> Call:
    return Call(None, {}, w.services_user_id("patient1@example.com"), None, LOGIN)


def _refresh(w: World) -> Call:
    token = w.client.post("/api/auth/login", **LOGIN).json()["refreshToken"]
    user = w.services_user_id("patient1@example.com")
    return Call(None, {}, user, None, {"json": {"refreshToken": token}})


SCENARIOS: dict[str, dict[str, Scenario]] = {
    "login": {
        "success": _login,
        "failure": lambda w: Call(
            None,
            {},
            None,
            None,
            {"json": {"email": "patient1@example.com", "password": "not-the-password"}},
        ),
    },
    "refresh": {
        "success": _refresh,
        "failure": lambda w: Call(None, {}, None, None, {"json": {"refreshToken": "x" * 40}}),
    },
    "logout": {
        "success": lambda w: Call("patient", {}, None, None, {"json": {"refreshToken": "x" * 40}}),
    },
    "changePassword": {
        "success": lambda w: Call(
            "demo",
            {},
            w.services_user_id("patient1@example.com"),
            None,
            {"json": {"currentPassword": DEMO_PASSWORD, "newPassword": "a-longer-passphrase-2026"}},
        ),
        "failure": lambda w: Call(
            "demo",
            {},
            w.services_user_id("patient1@example.com"),
            None,
            {
                "json": {
                    "currentPassword": "not-the-password",
                    "newPassword": "a-longer-passphrase-2026",
                }
            },
        ),
    },
    "getCurrentUser": {"success": lambda w: Call("patient", {}, None, None)},
    "getAccessReport": {
        "success": _own("patient", lambda w: w.patient),
        "denied": _own("nurse"),
    },
    "listAppointments": {"success": _own("patient")},
    "createAppointment": {
        "success": lambda w: Call("patient", {}, CREATED, w.patient, _booking(w, w.doctor)),
        "denied": lambda w: Call("doctor", {}, None, None, _booking(w, w.doctor)),
        "failure": lambda w: Call("patient", {}, None, w.patient, _booking(w, missing())),
    },
    "getAppointment": {
        "success": _visit("patient"),
        "denied": _visit("other"),
        "failure": _no_visit("patient"),
    },
    "getAppointmentCalendar": {
        "success": _visit("patient"),
        "denied": _visit("other"),
        "failure": _no_visit("patient"),
    },
    "rescheduleAppointment": {
        "success": _visit("patient", request=MOVE),
        "denied": _visit("other", request=MOVE),
        "failure": _no_visit("patient", MOVE),
    },
    "cancelAppointment": {
        "success": _visit("patient", request=CANCEL),
        "denied": _visit("other", request=CANCEL),
        "failure": _no_visit("patient", CANCEL),
    },
    "confirmAppointment": _lifecycle("patient", "other", "scheduled", None),
    "checkInAppointment": _lifecycle(
        "nurse", "patient", "confirmed", START - timedelta(minutes=10)
    ),
    "completeAppointment": _lifecycle(
        "doctor", "patient", "checked_in", START + timedelta(minutes=25)
    ),
    "markAppointmentNoShow": _lifecycle(
        "doctor", "patient", "scheduled", START + timedelta(minutes=20)
    ),
    "replaceProviderAvailability": _schedule(
        None,
        {
            "windows": [
                {"dayOfWeek": day, "startTime": "09:00 AM", "endTime": "05:00 PM"}
                for day in ("monday", "tuesday", "wednesday", "thursday", "friday")
            ]
        },
        None,
    ),
    "createProviderTimeOff": _schedule("new", {"startDate": "2026-12-07"}, None),
    "deleteProviderTimeOff": _schedule("timeOffId", None, lambda w: w.time_off),
    "createProviderExtraHours": _schedule(
        "new", {"date": "2026-12-05", "startTime": "09:00 AM", "endTime": "12:00 PM"}, None
    ),
    "deleteProviderExtraHours": _schedule("extraHoursId", None, lambda w: w.extra_hours),
    "listMedicalRecords": {"success": _own("patient")},
    "createMedicalRecord": {
        "success": lambda w: Call(
            "doctor",
            {},
            CREATED,
            w.patient,
            {
                "json": {
                    "patientId": w.patient,
                    "type": "visit_note",
                    "title": "Follow-up visit",
                    "date": "2026-11-20",
                }
            },
        ),
        "denied": lambda w: Call(
            "nurse",
            {},
            None,
            w.patient,
            {
                "json": {
                    "patientId": w.patient,
                    "type": "visit_note",
                    "title": "Follow-up visit",
                    "date": "2026-11-20",
                }
            },
        ),
    },
    "amendMedicalRecord": {
        "success": _records("doctor", lambda w: w.record, request=AMENDMENT),
        "denied": _records("other_doctor", lambda w: w.record, request=AMENDMENT),
        "failure": lambda w: (
            lambda gone: Call("doctor", {"recordId": gone}, gone, None, AMENDMENT)
        )(missing()),
    },
    "listMedicalRecordVersions": {
        "success": _records("patient", lambda w: w.record),
        "denied": _records("other", lambda w: w.record),
        "failure": lambda w: (lambda gone: Call("patient", {"recordId": gone}, gone, None))(
            missing()
        ),
    },
    "uploadAttachment": {
        "success": lambda w: Call("doctor", {"recordId": w.record}, CREATED, w.patient, FILE),
        "denied": _records("patient", lambda w: w.record, request=FILE),
        "failure": lambda w: (lambda gone: Call("doctor", {"recordId": gone}, gone, None, FILE))(
            missing()
        ),
    },
    "downloadAttachment": {
        "success": lambda w: Call(
            "patient", {"recordId": w.record, "attachmentId": w.attachment}, w.attachment, w.patient
        ),
        "denied": lambda w: Call(
            "other", {"recordId": w.record, "attachmentId": w.attachment}, w.attachment, w.patient
        ),
        # the record is there (and so whose it is known), its file is not
        "failure": lambda w: (
            lambda gone: Call(
                "patient", {"recordId": w.record, "attachmentId": gone}, gone, w.patient
            )
        )(missing()),
    },
    "listConsents": {"success": _own("patient", lambda w: w.patient), "denied": _own("doctor")},
    "grantConsent": {
        "success": lambda w: Call(
            "patient", {}, CREATED, w.patient, {"json": {"type": "data_sharing"}}
        ),
        "denied": lambda w: Call("doctor", {}, None, None, {"json": {"type": "data_sharing"}}),
        "failure": lambda w: Call(
            "patient", {}, None, w.patient, {"json": {"type": "telehealth"}}
        ),  # in force already: 409
    },
    "revokeConsent": {
        "success": lambda w: Call("patient", {"consentId": w.consent}, w.consent, w.patient),
        "denied": lambda w: Call("other", {"consentId": w.consent}, w.consent, w.patient),
        "failure": lambda w: (lambda gone: Call("patient", {"consentId": gone}, gone, None))(
            missing()
        ),
    },
    "listWaitlist": {"success": _own("patient", lambda w: w.patient), "denied": _own("doctor")},
    "joinWaitlist": {
        "success": lambda w: Call("patient", {}, CREATED, w.patient, WAITLIST),
        "denied": lambda w: Call("doctor", {}, None, None, WAITLIST),
        "failure": lambda w: Call(
            "patient",
            {},
            None,
            w.patient,
            {
                "json": {
                    **{k: v for k, v in WAITLIST["json"].items() if k != "specialty"},
                    "providerId": missing(),
                }
            },
        ),
    },
    "leaveWaitlist": {
        "success": lambda w: Call("patient", {"entryId": w.entry}, w.entry, w.patient),
        "denied": lambda w: Call("other", {"entryId": w.entry}, w.entry, w.patient),
        "failure": lambda w: (lambda gone: Call("patient", {"entryId": gone}, gone, None))(
            missing()
        ),
    },
    "listWaitlistOffers": {
        "success": _own("patient", lambda w: w.patient),
        "denied": _own("doctor"),
    },
    "acceptWaitlistOffer": {
        "success": lambda w: Call("patient", {"offerId": w.offer}, w.offer, w.patient),
        "denied": lambda w: Call("other", {"offerId": w.offer}, w.offer, w.patient),
        "failure": lambda w: (lambda gone: Call("patient", {"offerId": gone}, gone, None))(
            missing()
        ),
    },
    "declineWaitlistOffer": {
        "success": lambda w: Call(
            "patient", {"offerId": w.second_offer}, w.second_offer, w.patient
        ),
        "denied": lambda w: Call("other", {"offerId": w.second_offer}, w.second_offer, w.patient),
        "failure": lambda w: (lambda gone: Call("patient", {"offerId": gone}, gone, None))(
            missing()
        ),
    },
    "getNotificationPreferences": {
        "success": _own("patient", lambda w: w.patient),
        "denied": _own("doctor"),
    },
    "updateNotificationPreferences": {
        "success": lambda w: Call(
            "patient", {}, w.patient, w.patient, {"json": {"reminders": {"email": False}}}
        ),
        "denied": lambda w: Call(
            "doctor", {}, None, None, {"json": {"reminders": {"email": False}}}
        ),
    },
    "listNotifications": {
        "success": lambda w: Call("admin", {}, None, None),
        "denied": lambda w: Call("patient", {}, None, None),
    },
    "listAuditLogs": {
        "success": lambda w: Call(
            "admin", {}, None, w.patient, {"params": {"subjectId": w.patient}}
        ),
        "denied": lambda w: Call("patient", {}, None, None),
    },
}

# Kinds of call the spec declares that no request reaches the audited handler with.
UNREACHABLE = {
    ("logout", "denied"): "its 403 is the CSRF check, made before the handler",
    ("changePassword", "denied"): "its 403 is the CSRF check, made before the handler",
    ("listAppointments", "denied"): "every role has a scope of appointments",
    ("listMedicalRecords", "denied"): "every role sees some records (maybe none)",
    ("createMedicalRecord", "failure"): "declares no 404/409/422",
}

"""A Python front end's use of the generated client, type-checked with it by `make contract`
(`mypy --strict`) and never run: each `assert_type` pins a result to the precise type the spec
promises, so a response typed `Any` or a nested object without its own name fails the check."""

from __future__ import annotations

import datetime
from typing import assert_type
from uuid import UUID

from portal_client import AuthenticatedClient, Client
from portal_client.api.appointments import create_appointment
from portal_client.api.auth import login, logout
from portal_client.api.medical_records import download_attachment, list_medical_records
from portal_client.api.providers import get_available_slots, search_providers
from portal_client.models import (
    ApiError,
    BookedAppointment,
    CreateAppointmentRequest,
    ErrorCode,
    ErrorResponse,
    LoginRequest,
    MedicalRecordList,
    ProviderLocation,
    ProviderSearchRequest,
    ProviderSearchResult,
    RecordProvider,
    RefreshRequest,
    Session,
)
from portal_client.models.appointment_type import AppointmentType
from portal_client.types import File


def error_line(answer: ErrorResponse) -> str:
    assert_type(answer.error, ApiError)
    assert_type(answer.error.code, ErrorCode)
    return f"{answer.error.code.value}: {answer.error.message}"


def book_first_free_slot(base_url: str, email: str, password: str) -> str:
    session = login.sync(
        client=Client(base_url=base_url), body=LoginRequest(email=email, password=password)
    )
    assert_type(session, ErrorResponse | Session | None)
    if not isinstance(session, Session):
        raise RuntimeError(error_line(session) if session else "unexpected status")
    client = AuthenticatedClient(base_url=base_url, token=session.access_token)
    csrf = session.csrf_token

    # Defaults (page, limit, isVirtual) need not be given.
    found = search_providers.sync(client=client, body=ProviderSearchRequest(), x_csrf_token=csrf)
    assert_type(found, ErrorResponse | ProviderSearchResult | None)  # None: 304 Not Modified
    if not isinstance(found, ProviderSearchResult) or not found.data:
        return "nobody found"
    provider = found.data[0]
    assert_type(provider.location, ProviderLocation | None)
    city = provider.location.city if provider.location else "no location"

    day = datetime.date(2025, 1, 15)
    slots = get_available_slots.sync(provider.id, client=client, date=day)
    if slots is None or isinstance(slots, ErrorResponse) or not slots.slots:
        return f"no free slot ({city})"
    booked = create_appointment.sync(
        client=client,
        body=CreateAppointmentRequest(
            provider_id=provider.id,
            date=day,
            time=slots.slots[0],
            type_=AppointmentType.ROUTINE_CHECKUP,
            reason="Annual physical examination",
        ),
        x_csrf_token=csrf,
    )
    assert_type(booked, BookedAppointment | ErrorResponse | None)
    if not isinstance(booked, BookedAppointment):
        raise RuntimeError(error_line(booked) if booked else "unexpected status")

    records = list_medical_records.sync(client=client)
    assert_type(records, ErrorResponse | MedicalRecordList | None)
    if isinstance(records, MedicalRecordList) and records.data:
        assert_type(records.data[0].provider, RecordProvider | None)

    ended = logout.sync_detailed(
        client=client, body=RefreshRequest(refresh_token=session.refresh_token), x_csrf_token=csrf
    )
    assert_type(ended.parsed, ErrorResponse | None)  # None: 204 No Content
    return str(booked.id)


def download(client: AuthenticatedClient, record_id: UUID, attachment_id: UUID) -> bytes:
    answer = download_attachment.sync(record_id, attachment_id, client=client)
    assert_type(answer, ErrorResponse | File | None)
    return answer.payload.read() if isinstance(answer, File) else b""

"""The appointment use cases on a database session, without HTTP: each test builds the rows it
needs with the factories."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from kernel.clock import Clock
from kernel.errors import InvalidInput, NotAllowed
from models.appointments.errors import ChangeRefused, NotAcceptingNewPatients, SlotTaken
from models.appointments.queries import appointments as appointment_queries
from models.appointments.queries.appointments import AppointmentFilters
from models.appointments.tables import Appointment
from models.appointments.use_cases import appointments as use_cases
from models.appointments.use_cases.appointments import BookingRequest, FreedSlot
from models.notifications.use_cases import OutboxPolicy
from portal.runtime import Services
from security.identity import Identity
from tests.support.appointments import NEXT_WEDNESDAY, NOON, NY
from tests.support.factories import a_doctor, a_patient, an_appointment

CLOCK = Clock(now=NOON, zone=NY)
WEDNESDAY_NINE_TO_TEN = {"wednesday": [(time(9), time(10))]}
OUTBOX = OutboxPolicy(mail_from="Clinic <no-reply@clinic.example>", portal_url="https://portal")


def identity_of(user) -> Identity:  # type: ignore[no-untyped-def]
    return Identity(user_id=user.id, email=user.email, role=user.role)


def request(doctor_id: str, start: time, day: date = NEXT_WEDNESDAY) -> BookingRequest:
    return BookingRequest(
        provider_id=doctor_id,
        day=day,
        start=start,
        type="routine_checkup",
        reason="A reason long enough",
        notes=None,
        is_virtual=False,
    )


@pytest.fixture
def people(services: Services):  # type: ignore[no-untyped-def]
    with services.db.new_session() as session:
        doctor = a_doctor(session, hours=WEDNESDAY_NINE_TO_TEN, address="9 Elm St")
        first, second = a_patient(session), a_patient(session)
        session.commit()
        return doctor, first, second


def test_a_slot_goes_to_one_patient_and_the_next_slot_stays_free(services: Services, people):
    doctor, first, second = people
    booked = use_cases.book(
        services.db, identity_of(first), request(doctor.id, time(9)), CLOCK, "https://meet", OUTBOX
    )
    assert (booked.patient_id, booked.status) == (first.id, "scheduled")
    assert booked.location == "9 Elm St, Boston, MA 02114"
    with pytest.raises(SlotTaken):
        use_cases.book(
            services.db,
            identity_of(second),
            request(doctor.id, time(9)),
            CLOCK,
            "https://meet",
            OUTBOX,
        )
    assert use_cases.available_slots(services.db, doctor.id, NEXT_WEDNESDAY, 30, CLOCK).starts == [
        time(9, 30)
    ]
    with pytest.raises(InvalidInput) as outside:
        use_cases.book(
            services.db,
            identity_of(second),
            request(doctor.id, time(10)),
            CLOCK,
            "https://meet",
            OUTBOX,
        )
    assert outside.value.details[0].field == "time"


def test_a_cancelled_slot_can_be_booked_again(services: Services, people):
    doctor, first, second = people
    booked = use_cases.book(
        services.db, identity_of(first), request(doctor.id, time(9)), CLOCK, "https://meet", OUTBOX
    )
    freed: list[FreedSlot] = []
    use_cases.cancel(
        services.db,
        identity_of(first),
        booked.id,
        "Plans changed, sorry",
        CLOCK,
        OUTBOX,
        lambda session, slot, clock: freed.append(slot),
    )
    assert freed == [FreedSlot(doctor.id, NEXT_WEDNESDAY, time(9), 30)]  # heard of once
    again = use_cases.book(
        services.db, identity_of(second), request(doctor.id, time(9)), CLOCK, "https://meet", OUTBOX
    )
    assert again.patient_id == second.id


def test_only_established_patients_book_a_doctor_who_takes_no_new_ones(services: Services):
    with services.db.new_session() as session:
        doctor = a_doctor(session, hours=WEDNESDAY_NINE_TO_TEN, accepting_new_patients=False)
        newcomer, known = a_patient(session), a_patient(session)
        an_appointment(session, known, doctor, date(2026, 10, 7), time(9), status="completed")
        session.commit()
    with pytest.raises(NotAcceptingNewPatients):
        use_cases.book(
            services.db,
            identity_of(newcomer),
            request(doctor.id, time(9)),
            CLOCK,
            "https://m",
            OUTBOX,
        )
    booked = use_cases.book(
        services.db, identity_of(known), request(doctor.id, time(9)), CLOCK, "https://m", OUTBOX
    )
    assert booked.patient_id == known.id


def test_staff_cannot_book_and_lists_are_scoped_to_the_caller(services: Services, people):
    doctor, first, second = people
    with services.db.new_session() as session:
        other_doctor = a_doctor(session, hours=WEDNESDAY_NINE_TO_TEN)
        an_appointment(session, first, doctor, NEXT_WEDNESDAY, time(9))
        an_appointment(session, second, other_doctor, NEXT_WEDNESDAY, time(9))
        session.commit()
    with pytest.raises(NotAllowed):
        use_cases.book(
            services.db,
            identity_of(doctor),
            request(doctor.id, time(9, 30)),
            CLOCK,
            "https://m",
            OUTBOX,
        )
    mine, total = use_cases.list_appointments(
        services.db, identity_of(doctor), AppointmentFilters(), 1, 20
    )
    assert total == 1 and mine[0].patient_id == first.id
    theirs, total = use_cases.list_appointments(
        services.db, identity_of(second), AppointmentFilters(), 1, 20
    )
    assert total == 1 and theirs[0].provider_id == other_doctor.id


def test_the_clock_decides_what_is_past(services: Services, people):
    doctor, first, _ = people
    late_on_wednesday = Clock(now=datetime(2026, 12, 2, 9, 45, tzinfo=NY), zone=NY)
    assert (
        use_cases.available_slots(
            services.db, doctor.id, NEXT_WEDNESDAY, 30, late_on_wednesday
        ).starts
        == []
    )
    with pytest.raises(InvalidInput):
        use_cases.book(
            services.db,
            identity_of(first),
            request(doctor.id, time(9), day=date(2026, 11, 18)),
            CLOCK,
            "https://m",
            OUTBOX,
        )


def _read_as_it_was(monkeypatch: pytest.MonkeyPatch, **was: object) -> None:
    """Make a change's first read see the row as it was before a change it has not seen (the
    values `was`): its conditional UPDATE then finds the row changed and must judge it again."""
    real = appointment_queries.for_change

    def stale(session, appointment_id):  # type: ignore[no-untyped-def]
        found = real(session, appointment_id)
        for key, value in was.items():
            setattr(found.appointment, key, value)
        return found

    monkeypatch.setattr(appointment_queries, "for_change", stale)


def _row(services: Services, appointment_id: str) -> Appointment:
    with services.db.new_session() as session:
        found = session.get(Appointment, appointment_id)
        assert found is not None
        return found


def test_a_cancellation_judged_on_a_stale_row_is_judged_again_on_the_row_as_it_is(
    services: Services, people, monkeypatch: pytest.MonkeyPatch
):
    doctor, first, _ = people
    with services.db.new_session() as session:
        confirmed = an_appointment(
            session, first, doctor, NEXT_WEDNESDAY, time(9), status="confirmed",
            calendar_sequence=2,
        )  # fmt: skip
        session.commit()
    _read_as_it_was(monkeypatch, status="scheduled", calendar_sequence=1)
    freed: list[FreedSlot] = []
    cancelled = use_cases.cancel(
        services.db, identity_of(first), confirmed.id, "Plans changed, sorry", CLOCK, OUTBOX,
        lambda session, slot, clock: freed.append(slot),
    )  # fmt: skip
    assert (cancelled.status, cancelled.calendar_sequence) == ("cancelled", 3)
    stored = _row(services, confirmed.id)
    assert (stored.status, stored.calendar_sequence) == ("cancelled", 3)
    assert stored.cancellation_reason == "Plans changed, sorry"
    assert freed == [FreedSlot(doctor.id, NEXT_WEDNESDAY, time(9), 30)]


def test_a_cancellation_whose_row_ended_meanwhile_is_refused_and_writes_nothing(
    services: Services, people, monkeypatch: pytest.MonkeyPatch
):
    doctor, first, _ = people
    with services.db.new_session() as session:
        ended = an_appointment(
            session, first, doctor, NEXT_WEDNESDAY, time(9), status="cancelled",
            calendar_sequence=1,
        )  # fmt: skip
        session.commit()
    _read_as_it_was(monkeypatch, status="scheduled", calendar_sequence=0)
    with pytest.raises(ChangeRefused):
        use_cases.cancel(
            services.db, identity_of(first), ended.id, "Plans changed, sorry", CLOCK, OUTBOX,
            lambda session, slot, clock: None,
        )  # fmt: skip
    stored = _row(services, ended.id)
    assert (stored.status, stored.calendar_sequence, stored.cancellation_reason) == (
        "cancelled", 1, None,
    )  # fmt: skip


def test_a_move_judged_on_a_stale_row_is_judged_again_and_frees_the_start_it_held(
    services: Services, people, monkeypatch: pytest.MonkeyPatch
):
    doctor, first, _ = people
    with services.db.new_session() as session:
        moved = an_appointment(
            session, first, doctor, NEXT_WEDNESDAY, time(9, 30), calendar_sequence=1
        )
        session.commit()
    # The move read the row before an earlier move (from 9:00 to 9:30) had committed.
    _read_as_it_was(monkeypatch, start_time=time(9), calendar_sequence=0)
    freed: list[FreedSlot] = []
    answer = use_cases.reschedule(
        services.db, identity_of(first), moved.id, NEXT_WEDNESDAY, time(9), "Earlier suits me",
        CLOCK, OUTBOX, lambda session, slot, clock: freed.append(slot),
    )  # fmt: skip
    assert (answer.start_time, answer.calendar_sequence) == (time(9), 2)
    stored = _row(services, moved.id)
    assert (stored.start_time, stored.calendar_sequence) == (time(9), 2)
    assert stored.reschedule_reason == "Earlier suits me"
    assert freed == [FreedSlot(doctor.id, NEXT_WEDNESDAY, time(9, 30), 30)]

"""Generated bookings for scale tests (`portal db seed --appointments M`).

Deterministic and idempotent like the rest of the seed: the generated appointments belong to
generated patients (`member<N>@patients.example`, who cannot log in), and a second run only
tops them up to M. Bookings fall on the providers' real weekly windows, on the 30-minute grid,
never on a start another live booking holds, mostly in the coming weeks (as a clinic's book
fills up), some in the past.
"""

from __future__ import annotations

import random
from datetime import date, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from kernel.clock import utcnow
from models import Appointment, ProviderProfile, User
from models.appointments.queries.availability import live_bookings, load_weekly_windows
from models.appointments.rules.slots import SLOT_GRID_MINUTES, WEEKDAY_NAMES, Window
from models.appointments.rules.visits import APPOINTMENT_TYPES
from models.base import new_id
from portal.ops.demo.data import DISABLED_PASSWORD
from portal.ops.demo.providers import SeedReport
from portal.ops.progress import progress

PATIENT_DOMAIN = "patients.example"
APPOINTMENTS_PER_PATIENT = 100
DAYS_BACK, DAYS_AHEAD = 30, 180
CANCELLED_SHARE = 0.08
_BATCH = 5000


def _patient_email(number: int) -> str:
    return f"member{number}@{PATIENT_DOMAIN}"


def _generated_patients(session: Session, wanted: int, report: SeedReport) -> list[str]:
    """Ids of generated patients 1..wanted, creating the missing ones (counted as users)."""
    existing = dict(
        session.execute(
            sa.select(User.email, User.id).where(User.email.like(f"member%@{PATIENT_DOMAIN}"))
        ).all()
    )
    missing = [
        {
            "id": new_id(),
            "email": _patient_email(n),
            "password_hash": DISABLED_PASSWORD,
            "role": "patient",
            "first_name": "Member",
            "last_name": f"No. {n}",
        }
        for n in range(1, wanted + 1)
        if _patient_email(n) not in existing
    ]
    if missing:
        session.execute(sa.insert(User), missing)
        existing |= {row["email"]: row["id"] for row in missing}
        report.users += len(missing)
    return [existing[_patient_email(n)] for n in range(1, wanted + 1)]


def _grid_starts(window: Window) -> list[time]:
    first = -(-(window.start.hour * 60 + window.start.minute) // SLOT_GRID_MINUTES)
    last = (window.end.hour * 60 + window.end.minute - SLOT_GRID_MINUTES) // SLOT_GRID_MINUTES
    return [
        time(m * SLOT_GRID_MINUTES // 60, m * SLOT_GRID_MINUTES % 60)
        for m in range(first, last + 1)
    ]


def _status(day: date, today: date, rng: random.Random) -> str:
    if rng.random() < CANCELLED_SHARE:
        return "cancelled"
    if day < today:
        return "no_show" if rng.random() < 0.05 else "completed"
    return "confirmed" if rng.random() < 0.3 else "scheduled"


def seed_generated_appointments(
    session: Session, count: int, today: date, report: SeedReport
) -> None:
    """Top the generated appointments (and their patients) up to `count`, counted in `report`."""
    if count <= 0:
        return
    wanted_patients = max(1, -(-count // APPOINTMENTS_PER_PATIENT))
    patients = _generated_patients(session, wanted_patients, report)
    existing = session.scalar(
        sa.select(sa.func.count(Appointment.id))
        .join(User, User.id == Appointment.patient_id)
        .where(User.email.like(f"member%@{PATIENT_DOMAIN}"))
    )
    needed = count - (existing or 0)
    if needed <= 0:
        return
    provider_ids = list(
        session.scalars(sa.select(ProviderProfile.user_id).order_by(ProviderProfile.npi))
    )
    weekly = load_weekly_windows(session, provider_ids)
    provider_ids = [pid for pid in provider_ids if any(weekly[pid].values())]
    if not provider_ids:
        return
    taken: set[tuple[str, date, time]] = {
        (provider_id, day, start)
        for provider_id, day, start in session.execute(
            sa.select(Appointment.provider_id, Appointment.date, Appointment.start_time).where(
                live_bookings()
            )
        )
    }
    rng = random.Random(20261125 + (existing or 0))
    rows: list[dict[str, Any]] = []
    added = attempts = 0
    bar = progress("appointments", needed, "appointments")
    while added < needed and attempts < needed * 50:
        attempts += 1
        provider_id = rng.choice(provider_ids)
        day = today + timedelta(days=round(rng.triangular(-DAYS_BACK, DAYS_AHEAD, 0)))
        windows = weekly[provider_id].get(WEEKDAY_NAMES[day.weekday()])
        if not windows:
            continue
        starts = _grid_starts(rng.choice(windows))
        if not starts:
            continue
        start = rng.choice(starts)
        status = _status(day, today, rng)
        if status != "cancelled":
            if (provider_id, day, start) in taken:
                continue
            taken.add((provider_id, day, start))
        now = utcnow()
        rows.append(
            {
                "id": new_id(),
                "patient_id": patients[added % len(patients)],
                "provider_id": provider_id,
                "date": day,
                "start_time": start,
                "type": rng.choice(APPOINTMENT_TYPES),
                "status": status,
                "reason": "Generated visit for scale testing",
                "duration": SLOT_GRID_MINUTES,
                "cancelled_at": now if status == "cancelled" else None,
                "cancellation_reason": "Generated cancellation" if status == "cancelled" else None,
                "created_at": now,
                "updated_at": now,
            }
        )
        added += 1
        if len(rows) == _BATCH:
            session.execute(sa.insert(Appointment), rows)
            bar.update(len(rows))
            rows = []
    if rows:
        session.execute(sa.insert(Appointment), rows)
    bar.close()
    report.appointments += added

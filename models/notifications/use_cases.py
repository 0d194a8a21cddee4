"""Notifications: what a change to an appointment writes to the outbox, how the outbox is
delivered, and a patient's preferences.

The `on_*` functions join the transaction of the change that calls them (that is the outbox's
point: the change and its messages commit or roll back together) and only write rows; nothing
is sent there. `deliver_due` is the worker's step: claim due messages (a lease, so several
workers on several hosts never send one message twice at once), send each, record the outcome;
a failure is retried with exponential backoff and jitter until `max_attempts`, then the message
is dead (visible to admins). A worker that dies between sending and recording leaves its lease
to expire; the message then goes again, with the same Message-ID.
"""

from __future__ import annotations

import functools
import json
import logging
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from adapters.mail import Mailer, MailError
from kernel.database import Database, reads, writes
from kernel.settings import Settings
from models.base import new_id
from models.notifications import queries
from models.notifications.queries import OutboxStats
from models.notifications.rules import (
    CHANNELS,
    OPTIONAL_KINDS,
    Visit,
    compose,
    new_message_id,
    reminder_times,
    retry_delay,
)
from models.notifications.tables import OutboxMessage
from security import audit
from security.identity import Identity
from security.policy.roles import require_admin, require_patient

logger = logging.getLogger("portal.notifications")


@dataclass(frozen=True)
class OutboxPolicy:
    """The settings notifications follow (from kernel.settings)."""

    mail_from: str
    portal_url: str
    reminder_lead_times: Sequence[timedelta] = (timedelta(hours=72), timedelta(hours=24))
    max_attempts: int = 8
    retry_seconds: float = 30
    retry_max_seconds: float = 3600
    lease: timedelta = timedelta(minutes=5)

    @classmethod
    def from_settings(cls, settings: Settings) -> OutboxPolicy:
        return cls(
            mail_from=settings.mail_from,
            portal_url=settings.portal_url,
            reminder_lead_times=settings.notification_reminders,
            max_attempts=settings.notification_max_attempts,
            retry_seconds=settings.notification_retry_seconds,
            retry_max_seconds=settings.notification_retry_max_seconds,
            lease=timedelta(seconds=settings.notification_lease_seconds),
        )


def _message(
    kind: str, visit: Visit, patient_id: str, due: datetime, now: datetime, policy: OutboxPolicy
) -> dict[str, object]:
    return {
        "id": new_id(),
        "message_id": new_message_id(policy.mail_from),
        "kind": kind,
        "channel": "email",
        "status": "pending",
        "recipient_id": patient_id,
        "appointment_id": visit.appointment_id,
        "payload": json.dumps(visit.as_payload()),
        "attempts": 0,
        "next_attempt_at": due,
        "created_at": now,
    }


def _notice_and_reminders(
    session: Session,
    kind: str,
    visit: Visit,
    patient_id: str,
    now: datetime,
    policy: OutboxPolicy,
    *,
    remind: bool,
) -> None:
    rows = [_message(kind, visit, patient_id, now, now, policy)]
    if remind:
        rows += [
            _message("reminder", visit, patient_id, at, now, policy)
            for at in reminder_times(visit, policy.reminder_lead_times, now)
        ]
    queries.add_messages(session, rows)


def on_booked(
    session: Session, visit: Visit, patient_id: str, now: datetime, policy: OutboxPolicy
) -> None:
    """A confirmation now, and the reminders."""
    _notice_and_reminders(session, "booked", visit, patient_id, now, policy, remind=True)


def on_rescheduled(
    session: Session, visit: Visit, patient_id: str, now: datetime, policy: OutboxPolicy
) -> None:
    """A notice of the new time now; the reminders planned for the old time are dropped and
    planned again for the new one."""
    queries.supersede_pending(session, visit.appointment_id, ("reminder",))
    _notice_and_reminders(session, "rescheduled", visit, patient_id, now, policy, remind=True)


def on_cancelled(
    session: Session, visit: Visit, patient_id: str, now: datetime, policy: OutboxPolicy
) -> None:
    """A cancellation notice (its invitation carries METHOD:CANCEL); no more reminders."""
    queries.supersede_pending(session, visit.appointment_id, ("reminder",))
    _notice_and_reminders(session, "cancelled", visit, patient_id, now, policy, remind=False)


def on_status_changed(
    session: Session, visit: Visit, patient_id: str, now: datetime, policy: OutboxPolicy
) -> None:
    """A notice of the appointment's new status (confirmed, checked in, completed, missed);
    once the visit has begun or been missed, its reminders no longer apply."""
    if visit.status not in ("scheduled", "confirmed"):
        queries.supersede_pending(session, visit.appointment_id, ("reminder",))
    _notice_and_reminders(session, "status_changed", visit, patient_id, now, policy, remind=False)


def on_waitlist_offer(
    session: Session, offer: Visit, patient_id: str, now: datetime, policy: OutboxPolicy
) -> None:
    """An offer of a freed time to a waiting patient (`offer.appointment_id` is the offer's id,
    `offer.expires_at` its answer-by instant); no reminders, no invitation."""
    row = _message("waitlist_offer", offer, patient_id, now, now, policy)
    queries.add_messages(session, [row | {"appointment_id": None}])


@dataclass
class DeliveryReport:
    sent: int = 0
    failed: int = 0
    dead: int = 0
    skipped: int = 0
    errors: list[str] = field(default_factory=list)

    @property
    def handled(self) -> int:
        return self.sent + self.failed + self.dead + self.skipped


def deliver_due(
    db: Database,
    mailer: Mailer,
    policy: OutboxPolicy,
    now: datetime,
    *,
    batch: int = 20,
    rng: random.Random | None = None,
) -> DeliveryReport:
    """Claim up to `batch` due messages, send each, and record every outcome."""
    lease_until = now + policy.lease
    claimed = db.run(lambda session: queries.claim_due(session, now, lease_until, batch))
    report = DeliveryReport()
    for message in claimed:
        if message.kind in OPTIONAL_KINDS and not message.reminders:
            db.run(functools.partial(queries.finish, message_id=message.id, status="skipped"))
            report.skipped += 1
            continue
        email = compose(
            message.kind,
            Visit.from_payload(json.loads(message.payload)),
            message_id=message.message_id,
            mail_from=policy.mail_from,
            recipient=message.email,
            recipient_name=message.name,
            portal_url=policy.portal_url,
            now=now,
        )
        try:
            mailer.send(email)
        except MailError as exc:
            report.errors.append(str(exc))
            attempts = message.attempts + 1
            if attempts >= policy.max_attempts:
                outcome: dict[str, Any] = {
                    "status": "dead",
                    "attempts": attempts,
                    "last_error": str(exc)[:500],
                }
                report.dead += 1
            else:
                delay = retry_delay(attempts, policy.retry_seconds, policy.retry_max_seconds, rng)
                outcome = {
                    "attempts": attempts,
                    "next_attempt_at": now + delay,
                    "last_error": str(exc)[:500],
                }
                report.failed += 1
            db.run(functools.partial(queries.finish, message_id=message.id, **outcome))
            continue
        db.run(
            functools.partial(
                queries.finish,
                message_id=message.id,
                status="sent",
                sent_at=now,
                attempts=message.attempts + 1,
            )
        )
        report.sent += 1
    return report


@reads
def outbox_stats(session: Session, now: datetime) -> OutboxStats:
    return queries.stats(session, now)


@reads
def preferences(session: Session, identity: Identity) -> dict[str, bool]:
    """The patient's reminder choice per channel (on unless switched off)."""
    require_patient(identity, "Only patients have notification preferences")
    audit.note(resource_id=identity.user_id, subject=identity.user_id)
    stored = queries.preferences_of(session, identity.user_id)
    return {channel: stored.get(channel, True) for channel in CHANNELS}


@writes
def update_preferences(
    session: Session, identity: Identity, reminders: dict[str, bool], now: datetime
) -> dict[str, bool]:
    """Switch reminders on or off per channel; confirmations and notices always go."""
    require_patient(identity, "Only patients have notification preferences")
    audit.note(
        resource_id=identity.user_id, subject=identity.user_id, details={"reminders": reminders}
    )
    for channel, wanted in reminders.items():
        queries.set_preference(session, identity.user_id, channel, wanted, now)
    stored = queries.preferences_of(session, identity.user_id)
    return {channel: stored.get(channel, True) for channel in CHANNELS}


@reads
def list_messages(
    session: Session, identity: Identity, status: str | None, page: int, limit: int
) -> tuple[list[OutboxMessage], int]:
    """The outbox for an administrator (dead messages first of all), newest first."""
    require_admin(identity, "Only administrators can read the outbox")
    audit.note(details={"status": status, "page": page} if status else {"page": page})
    messages, total = queries.messages(session, status, page, limit)
    audit.note(details={"count": len(messages)})
    return messages, total

"""How notification preferences and outbox messages look on the wire."""

from __future__ import annotations

from typing import Any

from handlers.wire.formats import iso_datetime
from models.notifications.tables import OutboxMessage


def preferences(reminders: dict[str, bool]) -> dict[str, Any]:
    return {"reminders": dict(reminders)}


def message(found: OutboxMessage) -> dict[str, Any]:
    return {
        "id": found.id,
        "messageId": found.message_id,
        "kind": found.kind,
        "channel": found.channel,
        "status": found.status,
        "recipientId": found.recipient_id,
        "appointmentId": found.appointment_id,
        "attempts": found.attempts,
        "nextAttemptAt": iso_datetime(found.next_attempt_at),
        "lastError": found.last_error,
        "createdAt": iso_datetime(found.created_at),
        "sentAt": iso_datetime(found.sent_at),
    }

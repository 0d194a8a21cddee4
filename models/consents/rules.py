"""What a consent may be about; at most one consent of a type is in force at a time."""

from __future__ import annotations

CONSENT_TYPES = (
    "data_sharing",
    "telehealth",
    "email_notifications",
    "sms_notifications",
    "research",
)

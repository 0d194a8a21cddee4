"""Account rules over plain values."""

from __future__ import annotations


def normalize_email(email: str) -> str:
    """Emails compare case-insensitively and without surrounding spaces: the stored form."""
    return email.strip().lower()

"""What can go wrong with consents."""

from __future__ import annotations

from kernel.errors import Conflict, NotFound


class ConsentNotFound(NotFound):
    default_message = "Consent not found"


class ConsentInForce(Conflict):
    def __init__(self, consent_type: str) -> None:
        super().__init__(f"A {consent_type} consent is already in force")


class ConsentAlreadyRevoked(Conflict):
    default_message = "This consent is already revoked"

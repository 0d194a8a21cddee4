"""Rules that depend on the caller's role or ownership alone."""

from __future__ import annotations

from kernel.errors import NotAllowed
from security.identity import ADMIN, PATIENT, Identity


def require_role(identity: Identity, *roles: str, message: str | None = None) -> None:
    if not identity.has_any_role(*roles):
        raise NotAllowed(message)


def require_patient(identity: Identity, message: str = "Only patients can do this") -> None:
    require_role(identity, PATIENT, message=message)


def require_admin(identity: Identity, message: str = "Only administrators can do this") -> None:
    require_role(identity, ADMIN, message=message)


def require_owner(identity: Identity, owner_id: str, message: str | None = None) -> None:
    """The resource belongs to the caller."""
    if identity.user_id != owner_id:
        raise NotAllowed(message)

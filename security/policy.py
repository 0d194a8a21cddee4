"""Who may see or change what: ownership and role rules, one function per question.

Handlers never compare roles themselves; they call these and let `Forbidden` travel to the
error translator.
"""

from __future__ import annotations

from portal.errors import Forbidden
from security.identity import ADMIN, PATIENT, Identity


def require_role(identity: Identity, *roles: str, message: str | None = None) -> None:
    if not identity.has_any_role(*roles):
        raise Forbidden(message)


def require_patient(identity: Identity, message: str = "Only patients can do this") -> None:
    require_role(identity, PATIENT, message=message)


def require_admin(identity: Identity, message: str = "Only administrators can do this") -> None:
    require_role(identity, ADMIN, message=message)


def require_owner(identity: Identity, owner_id: str, message: str | None = None) -> None:
    """The resource belongs to the caller."""
    if identity.user_id != owner_id:
        raise Forbidden(message)

"""Who may see or change what: ownership and role rules, one function per question.

Handlers never compare roles themselves; they call these and let `Forbidden` travel to the
error translator.
"""

from __future__ import annotations

from portal.errors import Forbidden
from security.identity import PATIENT, Identity


def require_role(identity: Identity, *roles: str, message: str | None = None) -> None:
    if not identity.has_any_role(*roles):
        raise Forbidden(message)


def require_patient(identity: Identity, message: str = "Only patients can do this") -> None:
    require_role(identity, PATIENT, message=message)

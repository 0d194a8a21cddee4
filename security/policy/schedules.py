"""Who may read and change a provider's schedule (weekly hours, time off, extra hours)."""

from __future__ import annotations

from kernel.errors import NotAllowed
from security.identity import ADMIN, DOCTOR, NURSE, Identity


def require_schedule_reader(identity: Identity, provider_user_id: str) -> None:
    """The provider themselves, and the clinic's nurses (the front desk) and admins."""
    if identity.has_any_role(NURSE, ADMIN):
        return
    if identity.has_role(DOCTOR) and identity.user_id == provider_user_id:
        return
    raise NotAllowed("Only the provider, nurses and administrators can read this schedule")


def require_schedule_editor(identity: Identity, provider_user_id: str) -> None:
    """A doctor changes their own schedule; an admin anyone's."""
    if identity.has_role(ADMIN):
        return
    if identity.has_role(DOCTOR) and identity.user_id == provider_user_id:
        return
    raise NotAllowed("Only the provider or an administrator can change this schedule")

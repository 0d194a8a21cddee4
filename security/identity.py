"""Who is calling: the identity carried by a validated access token, and role checks."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

PATIENT, DOCTOR, NURSE, ADMIN = "patient", "doctor", "nurse", "admin"
CLINICAL_STAFF = (NURSE, ADMIN)


def normalize_role(role: str) -> str:
    """Roles compare case-insensitively."""
    return role.strip().lower()


@dataclass(frozen=True)
class Identity:
    user_id: str
    email: str
    role: str
    session_id: str | None = None

    @classmethod
    def from_token_info(cls, token_info: dict[str, Any]) -> Identity:
        return cls(
            user_id=token_info["userId"],
            email=token_info["email"],
            role=normalize_role(token_info["role"]),
            session_id=token_info.get("sid"),
        )

    def has_role(self, role: str) -> bool:
        return self.role == normalize_role(role)

    def has_any_role(self, *roles: str) -> bool:
        return self.role in {normalize_role(r) for r in roles}

"""How users and login sessions look on the wire."""

from __future__ import annotations

from typing import Any

from models.accounts.tables import User
from models.accounts.use_cases import IssuedSession


def user(found: User) -> dict[str, Any]:
    return {
        "id": found.id,
        "email": found.email,
        "role": found.role,
        "firstName": found.first_name,
        "lastName": found.last_name,
    }


def session(issued: IssuedSession) -> dict[str, Any]:
    return {
        "accessToken": issued.access_token,
        "refreshToken": issued.refresh_token,
        "tokenType": "Bearer",
        "expiresIn": issued.expires_in,
        "csrfToken": issued.csrf_token,
        "user": user(issued.user),
    }

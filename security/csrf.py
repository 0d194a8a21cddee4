"""Which requests must prove they come from the session's own page (CSRF).

Every POST, PUT, PATCH and DELETE under /api, except login and refresh (which have no session
yet), must carry `X-CSRF-Token` equal to the token of the bearer's login session (an HMAC over
the session id, see `TokenService.csrf_token`), so a token is useless with another session's
bearer token. `portal.web.csrf` enforces it for every operation.
"""

from __future__ import annotations

CSRF_HEADER = "x-csrf-token"
STATE_CHANGING_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
EXEMPT_OPERATIONS = frozenset({"login", "refresh"})
PROTECTED_PREFIX = "/api/"
MISSING_OR_WRONG = (
    "Missing or invalid CSRF token: send the session's token (from login or "
    "GET /api/auth/csrf-token) in the X-CSRF-Token header"
)


def csrf_required(method: str, path: str, operation_id: str | None) -> bool:
    return (
        method.upper() in STATE_CHANGING_METHODS
        and path.startswith(PROTECTED_PREFIX)
        and operation_id not in EXEMPT_OPERATIONS
    )

"""The bearer check the spec's security scheme calls (`x-bearerInfoFunc`) on every request."""

from __future__ import annotations

from typing import Any

from portal.errors import AuthenticationFailed
from portal.runtime import services
from security.tokens import InvalidToken


def bearer_info(token: str) -> dict[str, Any]:
    """Claims of a valid access token; any defect is a 401 naming what is wrong."""
    try:
        claims = services().tokens.decode_access_token(token)
    except InvalidToken as exc:
        raise AuthenticationFailed(str(exc)) from None
    return claims

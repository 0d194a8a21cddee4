"""The bearer checks the spec's security schemes call (`x-bearerInfoFunc`) on every request."""

from __future__ import annotations

import hmac
from typing import Any

from portal.errors import AuthenticationFailed, NotFound
from portal.runtime import services
from security.tokens import InvalidToken


def bearer_info(token: str) -> dict[str, Any]:
    """Claims of a valid access token; any defect is a 401 naming what is wrong."""
    try:
        claims = services().tokens.decode_access_token(token)
    except InvalidToken as exc:
        raise AuthenticationFailed(str(exc)) from None
    return claims


def metrics_token_info(token: str) -> dict[str, Any]:
    """The monitoring system's static token (METRICS_TOKEN); without one, /metrics is off."""
    expected = services().settings.metrics_token
    if not expected:
        raise NotFound("Metrics are not enabled")
    if not hmac.compare_digest(token.encode(), expected.encode()):
        raise AuthenticationFailed("Invalid metrics token")
    return {"scope": "metrics"}

"""The bearer checks the spec's security schemes call (`x-bearerInfoFunc`) on every request:
the current app's token rules (`security.tokens`) applied to what the client sent."""

from __future__ import annotations

import hmac
from typing import Any

from handlers import dependencies
from kernel.errors import NotAuthenticated, NotFound
from security.tokens import InvalidToken


def bearer_info(token: str) -> dict[str, Any]:
    """Claims of a valid access token; any defect is a 401 naming what is wrong."""
    try:
        claims = dependencies.current().tokens.decode_access_token(token)
    except InvalidToken as exc:
        raise NotAuthenticated(str(exc)) from None
    return claims


def metrics_token_info(token: str) -> dict[str, Any]:
    """The monitoring system's static token (METRICS_TOKEN); without one, /metrics is off."""
    expected = dependencies.current().settings.metrics_token
    if not expected:
        raise NotFound("Metrics are not enabled")
    if not hmac.compare_digest(token.encode(), expected.encode()):
        raise NotAuthenticated("Invalid metrics token")
    return {"scope": "metrics"}

"""The bearer checks the spec's security schemes call (`x-bearerInfoFunc`) on every request:
the current app's token rules (`security.tokens`) applied to what the client sent, and the
handler class connexion calls them through."""

from __future__ import annotations

import functools
import hmac
from collections.abc import Callable
from typing import Any

from connexion.security import BearerSecurityHandler
from starlette.concurrency import run_in_threadpool

from handlers import dependencies
from kernel.errors import NotAuthenticated, NotFound
from security.tokens import InvalidToken

SESSION_ENDED = "Session has ended; please log in again"


class BearerChecks(BearerSecurityHandler):
    """connexion's bearer scheme, asking which keywords a check takes once per check instead
    of inspecting its signature twice on every request (the answer never changes)."""

    @staticmethod
    @functools.cache
    def _accepts_kwarg(func: Callable[..., Any], keyword: str) -> bool:
        accepts: bool = BearerSecurityHandler._accepts_kwarg(func, keyword)
        return accepts


async def bearer_info(token: str) -> dict[str, Any]:
    """Claims of a valid access token of a session that has not ended; any defect is a 401
    naming what is wrong.

    Async, so that the revocation check's rare I/O (Redis, or the database while Redis is
    down) runs in a worker thread instead of holding the event loop."""
    current = dependencies.current()
    try:
        claims = current.tokens.decode_access_token(token)
    except InvalidToken as exc:
        raise NotAuthenticated(str(exc)) from None
    session_id = claims.get("sid")
    if isinstance(session_id, str):
        revoked = current.revocations.local_answer(session_id)
        if revoked is None:
            revoked = await run_in_threadpool(current.revocations.ask, session_id)
        if revoked:
            raise NotAuthenticated(SESSION_ENDED)
    return claims


def metrics_token_info(token: str) -> dict[str, Any]:
    """The monitoring system's static token (METRICS_TOKEN); without one, /metrics is off."""
    expected = dependencies.current().settings.metrics_token
    if not expected:
        raise NotFound("Metrics are not enabled")
    if not hmac.compare_digest(token.encode(), expected.encode()):
        raise NotAuthenticated("Invalid metrics token")
    return {"scope": "metrics"}

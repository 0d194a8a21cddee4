"""Names the request's user to the database layer (`kernel.replica.acting_for`), so that a
user's writes fence their own next reads when a replica serves reads (docs/operations.md)."""

from __future__ import annotations

from contextvars import Token

import flask
from connexion.context import context

from kernel.replica import acting_for, done_acting

_TOKEN = "portal_acting_for"


def _begin() -> None:
    token_info = (context.get("token_info") if context else None) or {}
    user_id = token_info.get("userId")
    flask.g.setdefault(_TOKEN, acting_for(str(user_id) if user_id else None))


def _end(_exc: BaseException | None) -> None:
    token: Token[str | None] | None = flask.g.pop(_TOKEN, None)
    if token is not None:
        done_acting(token)


def install(app: flask.Flask) -> None:
    app.before_request(_begin)
    app.teardown_request(_end)

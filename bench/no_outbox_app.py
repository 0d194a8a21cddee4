"""The bench's counterfactual app: the portal with the outbox writes of booking removed (a no-op
`on_booked`), so that `make bench` can price them; never a production setting.

Served by `python -m bench.no_outbox serve ...` (the `portal` command pointed at this module);
every worker imports it, and the patch is in place before the app is built.
"""

from __future__ import annotations

from typing import Any

from models.notifications import use_cases as notifications


def _no_messages(*_args: Any, **_kwargs: Any) -> None:
    """A booking's confirmation and reminders, not written."""


# book_in calls it through the module (`notifications.on_booked`), at every booking.
notifications.on_booked = _no_messages

from portal.web.asgi import app  # noqa: E402  (after the patch: it builds the app)

__all__ = ["app"]

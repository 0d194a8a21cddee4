"""A patient's notification preferences."""

from __future__ import annotations

from typing import Any

from handlers import dependencies
from handlers.wire import notifications as wire
from kernel.clock import utcnow
from models.notifications import use_cases
from security.identity import Identity


def get_notification_preferences(token_info: dict[str, Any]) -> tuple[dict[str, Any], int]:
    found = use_cases.preferences(dependencies.current().db, Identity.from_token_info(token_info))
    return wire.preferences(found), 200


def update_notification_preferences(
    body: dict[str, Any], token_info: dict[str, Any]
) -> tuple[dict[str, Any], int]:
    found = use_cases.update_preferences(
        dependencies.current().db,
        Identity.from_token_info(token_info),
        body["reminders"],
        utcnow(),
    )
    return wire.preferences(found), 200

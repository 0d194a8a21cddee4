"""A patient's consents: list, grant, revoke (revocations are kept, never deleted)."""

from __future__ import annotations

from typing import Any

from handlers import dependencies
from handlers.wire import consents as wire
from kernel.clock import utcnow
from models.consents import use_cases
from security.identity import Identity


def list_consents(token_info: dict[str, Any]) -> tuple[dict[str, Any], int]:
    found = use_cases.list_consents(dependencies.current().db, Identity.from_token_info(token_info))
    return {"data": [wire.consent(c) for c in found]}, 200


def grant_consent(body: dict[str, Any], token_info: dict[str, Any]) -> tuple[dict[str, Any], int]:
    consent = use_cases.grant_consent(
        dependencies.current().db,
        Identity.from_token_info(token_info),
        body["type"],
        body.get("details"),
        utcnow(),
    )
    return wire.consent(consent), 201


def revoke_consent(consent_id: str, token_info: dict[str, Any]) -> tuple[dict[str, Any], int]:
    consent = use_cases.revoke_consent(
        dependencies.current().db, Identity.from_token_info(token_info), consent_id, utcnow()
    )
    return wire.consent(consent), 200

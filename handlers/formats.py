"""How values look on the wire: timestamps, dates, pagination. Shared by every handler."""

from __future__ import annotations

import hashlib
import math
from datetime import UTC, date, datetime
from typing import Any


def iso_datetime(value: datetime | None) -> str | None:
    """'2025-01-10T14:30:00Z' (UTC, second precision), or None."""
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def iso_date(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def pagination(page: int, limit: int, total: int) -> dict[str, int]:
    return {
        "page": page,
        "limit": limit,
        "total": total,
        "totalPages": math.ceil(total / limit) if limit else 0,
    }


def page_headers(page: int, limit: int, total: int, **extra: str) -> dict[str, Any]:
    """X-Total-Count / X-Page / X-Per-Page, exposed to browsers by the CORS settings."""
    return {"X-Total-Count": str(total), "X-Page": str(page), "X-Per-Page": str(limit), **extra}


NO_STORE = {"Cache-Control": "no-store"}


def strong_etag(body: bytes) -> str:
    """A strong validator of exactly these response bytes."""
    return f'"{hashlib.sha256(body).hexdigest()}"'


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Does an If-None-Match header name `etag`? (RFC 9110: weak comparison, `*` matches.)"""
    if not if_none_match:
        return False
    tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in tags or etag in tags

"""How values look on the wire: timestamps, dates, pagination. Shared by every handler."""

from __future__ import annotations

import hashlib
import math
import re
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote


def iso_datetime(value: datetime | None) -> str | None:
    """'2025-01-10T14:30:00Z' (UTC, second precision), or None."""
    if value is None:
        return None
    if value.tzinfo is not UTC:  # the columns' values already are (UtcDateTime)
        value = value.astimezone(UTC)
    # isoformat ends in "+00:00" for UTC; a list formats two or more per row, and strftime
    # costs about three times as much.
    return value.replace(microsecond=0).isoformat()[:-6] + "Z"


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


_UNSAFE_IN_FILENAME = re.compile(r'[\x00-\x1f\x7f"\\/;]')


def content_disposition(file_name: str) -> str:
    """`attachment` with a file name no client can misread: quotes, control characters
    (CR/LF), path separators and `;` become `_`; a non-ASCII name also goes in `filename*`
    (RFC 6266), with an ASCII stand-in in `filename` for old clients."""
    safe = _UNSAFE_IN_FILENAME.sub("_", file_name).strip() or "attachment"
    ascii_name = safe.encode("ascii", "replace").decode("ascii").replace("?", "_")
    header = f'attachment; filename="{ascii_name}"'
    if ascii_name != safe:
        header += f"; filename*=UTF-8''{quote(safe, safe='')}"
    return header


def strong_etag(body: bytes) -> str:
    """A strong validator of exactly these response bytes."""
    return f'"{hashlib.sha256(body).hexdigest()}"'


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Does an If-None-Match header name `etag`? (RFC 9110: weak comparison, `*` matches.)"""
    if not if_none_match:
        return False
    tags = [tag.strip().removeprefix("W/") for tag in if_none_match.split(",")]
    return "*" in tags or etag in tags

"""GET /health for load balancers."""

from __future__ import annotations

from typing import Any

from portal.runtime import services


def get_health() -> tuple[dict[str, Any], int]:
    if services().db.ping():
        return {"status": "ok", "database": "ok"}, 200
    return {"status": "degraded", "database": "unavailable"}, 503

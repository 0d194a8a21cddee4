"""GET /health for load balancers."""

from __future__ import annotations

from typing import Any

from handlers import dependencies


def get_health() -> tuple[dict[str, Any], int]:
    if dependencies.current().db.ping():
        return {"status": "ok", "database": "ok"}, 200
    return {"status": "degraded", "database": "unavailable"}, 503

"""GET /health for load balancers: readiness (the database answers) or liveness (the process)."""

from __future__ import annotations

from typing import Any

from handlers import dependencies


def get_health(probe: str = "readiness") -> tuple[dict[str, Any], int]:
    if probe == "liveness":
        return {"status": "ok", "database": "unchecked"}, 200
    if dependencies.current().db.ping():
        return {"status": "ok", "database": "ok"}, 200
    return {"status": "degraded", "database": "unavailable"}, 503

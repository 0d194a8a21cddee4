"""Which browsers' pages may call the API (CORS): the allowed origins, methods and headers,
credentials, the exposed headers and a 24-hour preflight cache. Applied by
`portal.web.cors`, which adds every request header the spec declares and every response header
it documents to the plan's lists below."""

from __future__ import annotations

from kernel.settings import Settings

DEVELOPMENT_ORIGINS = ("http://localhost:5173", "http://localhost:3000")
ALLOWED_METHODS = ("GET", "POST", "PUT", "DELETE", "OPTIONS")
# The plan's lists; the spec's header parameters and documented response headers join them.
ALLOWED_HEADERS = ("Content-Type", "Authorization", "X-Requested-With", "X-CSRF-Token")
EXPOSED_HEADERS = ("X-Total-Count", "X-Page", "X-Per-Page")
# Browsers never let a page read these, whatever the server exposes (Fetch: forbidden
# response header names).
UNEXPOSABLE_HEADERS = frozenset({"set-cookie", "set-cookie2"})
PREFLIGHT_MAX_AGE_SECONDS = 86400


def allowed_origins(settings: Settings) -> list[str]:
    """The two development origins plus FRONTEND_URL, without duplicates."""
    origins = [*DEVELOPMENT_ORIGINS]
    if settings.frontend_url:
        frontend = settings.frontend_url.rstrip("/")
        if frontend not in origins:
            origins.append(frontend)
    return origins

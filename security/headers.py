"""Response headers every answer carries, decided here.

- Cache-Control: by the spec's operationId. Appointments, medical records,
  sessions and every error are `no-store` (they carry PHI or credentials); provider search is
  `public, max-age=300` and available slots `private, max-age=60` when they succeed.
- X-Content-Type-Options, X-Frame-Options, Referrer-Policy and a Content-Security-Policy that
  lets a JSON answer load nothing (Swagger UI's HTML page gets the least it needs).
- Strict-Transport-Security only over HTTPS: browsers ignore it on plain HTTP, and sending it from
  a development server on localhost would pin that host to HTTPS.
"""

from __future__ import annotations

NO_STORE = "no-store"

# Cache-Control by operation; any operation not listed (and any error) is never cached.
CACHE_CONTROL_BY_OPERATION = {
    "searchProviders": "public, max-age=300",
    "getAvailableSlots": "private, max-age=60",
}

JSON_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
HTML_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)
HSTS = "max-age=31536000; includeSubDomains"

ALWAYS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


def cache_control(operation_id: str | None, status: int) -> str:
    """The Cache-Control of a response of `operation_id` with `status`."""
    if status < 400 and operation_id in CACHE_CONTROL_BY_OPERATION:
        return CACHE_CONTROL_BY_OPERATION[operation_id]
    return NO_STORE


def security_headers(content_type: str | None, *, https: bool) -> dict[str, str]:
    """The hardening headers for a response of `content_type`."""
    headers = dict(ALWAYS)
    is_html = content_type is not None and content_type.split(";")[0].strip().lower() == "text/html"
    headers["Content-Security-Policy"] = HTML_CSP if is_html else JSON_CSP
    if https:
        headers["Strict-Transport-Security"] = HSTS
    return headers

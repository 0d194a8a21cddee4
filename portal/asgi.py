"""ASGI entry point for servers: `uvicorn portal.asgi:app` (settings from the environment).

Each worker process imports this module once: logging is configured here, per process, and
the process's audit sealer is started (stopped, with a last seal, when the process exits).
"""

import atexit

from portal.app import build_services, create_app
from portal.logs import configure_logging
from portal.settings import load_settings
from security.audit import start_sealer

settings = load_settings()
configure_logging(settings.log_level, json_format=settings.log_format == "json")
services = build_services(settings)
app = create_app(settings, services)
atexit.register(start_sealer(services.db, settings.audit_seal_interval_seconds).stop)

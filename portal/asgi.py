"""ASGI entry point for servers: `uvicorn portal.asgi:app` (settings from the environment).

Each worker process imports this module once: logging is configured here, per process.
"""

from portal.app import create_app
from portal.logs import configure_logging
from portal.settings import load_settings

settings = load_settings()
configure_logging(settings.log_level, json_format=settings.log_format == "json")
app = create_app(settings)

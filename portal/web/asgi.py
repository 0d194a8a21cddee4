"""ASGI entry point for servers: `uvicorn portal.web.asgi:app` (settings from the environment).

Each worker process imports this module once: logging is configured here, per process, and
the sessions ended in the last access-token lifetime are loaded, the unfinished uploads a killed
process left are removed, and the process's background
tasks start: the audit sealer (stopped, with a last seal, when the
process exits) and, with NOTIFICATION_WORKER=inline, an outbox worker (which also runs the
waitlist's expiry pass).
"""

import atexit

from adapters.logs import configure_logging
from kernel.settings import load_settings
from models.audit.use_cases import seal_now
from portal.runtime import build_services
from portal.runtime.background import Sealer
from portal.runtime.outbox import OutboxWorker, waitlist_pass
from portal.runtime.services import load_recent_revocations, remove_stale_uploads
from portal.web.app import create_app

settings = load_settings()
configure_logging(settings.log_level, json_format=settings.log_format == "json")
services = build_services(settings)
app = create_app(settings, services)
load_recent_revocations(services)
remove_stale_uploads(services)
sealer = Sealer(
    lambda: seal_now(services.db, services.audit_chain), settings.audit_seal_interval_seconds
).start()
atexit.register(sealer.stop)
if settings.notification_worker == "inline" and services.mailer is not None:
    outbox_worker = OutboxWorker(
        services.db,
        services.mailer,
        services.outbox,
        settings.notification_poll_seconds,
        waitlist=waitlist_pass(services),
    ).start()
    atexit.register(outbox_worker.stop)

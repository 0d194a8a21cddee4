"""The app factory: the spec, its handlers, the services and the error translator, wired once."""

from __future__ import annotations

import logging
import re

from connexion import FlaskApp
from connexion.middleware import MiddlewarePosition
from connexion.options import SwaggerUIOptions
from connexion.resolver import Resolver
from connexion.utils import get_function_from_name

from openapi import SPEC_PATH
from portal import http_errors, limits, published_spec
from portal.db import Database
from portal.middleware import RequestContextMiddleware
from portal.runtime import Services
from portal.settings import Settings, load_settings
from portal.storage import storage_from_settings
from portal.validation import VALIDATOR_MAP
from security.tokens import TokenService

logger = logging.getLogger("portal")

_CAMEL_BOUNDARY = re.compile(r"(?<!^)(?=[A-Z])")


def _handler_for(name: str):  # type: ignore[no-untyped-def]
    """`handlers.appointments.listAppointments` -> handlers.appointments.list_appointments."""
    module, _, operation_id = name.rpartition(".")
    return get_function_from_name(f"{module}.{_CAMEL_BOUNDARY.sub('_', operation_id).lower()}")


def build_services(settings: Settings) -> Services:
    return Services(
        settings=settings,
        db=Database.from_url(settings.database_url, pool_size=settings.database_pool_size),
        tokens=TokenService(settings.signing_secret, settings.jwt_expiration),
        storage=storage_from_settings(settings),
    )


def create_app(settings: Settings | None = None, services: Services | None = None) -> FlaskApp:
    settings = settings or load_settings()
    services = services or build_services(settings)
    if settings.app_env == "development" and not settings.jwt_secret:
        logger.warning("JWT_SECRET is not set: using the public development secret")

    app = FlaskApp(__name__, specification_dir=SPEC_PATH.parent)
    app.add_api(
        SPEC_PATH.name,
        resolver=Resolver(function_resolver=_handler_for),
        # Operations whose handler does not exist yet answer 501 in the standard format.
        resolver_error=501,
        strict_validation=True,
        validate_responses=settings.validate_responses,
        pythonic_params=True,
        validator_map=VALIDATOR_MAP,
        # The spec itself is served by portal.published_spec (as written, $refs kept).
        swagger_ui_options=SwaggerUIOptions(
            serve_spec=False, spec_path=published_spec.SPEC_JSON_PATH, swagger_ui_path="/api/ui"
        ),
    )
    published_spec.install(app.app)
    http_errors.register(app)
    app.add_middleware(
        RequestContextMiddleware,
        position=MiddlewarePosition.BEFORE_EXCEPTION,
        services=services,
    )
    app.app.teardown_request(services.db.close_request_session)
    limits.install(app.app, settings)
    app.app.extensions["portal"] = services
    return app

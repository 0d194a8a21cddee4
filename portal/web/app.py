"""The app factory: the spec, its handlers, the services and the error translator, wired once."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

import flask
import orjson
from connexion import FlaskApp
from connexion.context import operation
from connexion.jsonifier import JSONEncoder, Jsonifier
from connexion.middleware import MiddlewarePosition
from connexion.options import SwaggerUIOptions
from connexion.utils import get_function_from_name

from adapters.logs import install_request_id_logging
from kernel.errors import NotFound
from kernel.settings import Settings, load_settings
from openapi import SPEC_PATH
from portal.runtime import Services, build_services
from portal.web import (
    bearer,
    errors,
    limits,
    operations,
    published_spec,
    read_your_writes,
    swagger_ui,
    wsgi_bridge,
)
from portal.web.audit import AuditingResolver
from portal.web.cors import PortalCorsMiddleware
from portal.web.csrf import CsrfMiddleware
from portal.web.input_limits import BodyLimitMiddleware, HeadLimitsMiddleware, upload_operations
from portal.web.middleware import ConcretePathsFirst, RequestContextMiddleware
from portal.web.request_log import RequestObservationMiddleware
from portal.web.uploads import with_streaming_uploads
from portal.web.validation import VALIDATOR_MAP

logger = logging.getLogger("portal")

_CAMEL_BOUNDARY = re.compile(r"(?<!^)(?=[A-Z])")


def _handler_for(name: str) -> Callable[..., Any]:
    """`handlers.appointments.listAppointments` -> handlers.appointments.list_appointments."""
    module, _, operation_id = name.rpartition(".")
    handler: Callable[..., Any] = get_function_from_name(
        f"{module}.{_CAMEL_BOUNDARY.sub('_', operation_id).lower()}"
    )
    return handler


def _only_routed_requests() -> None:
    """Flask's router and connexion's disagree on a few odd paths (a newline inside a path
    parameter): a request connexion did not route has no operation (no validation, no
    security), so it must not reach a handler."""
    if flask.request.endpoint in (*published_spec.ENDPOINTS, swagger_ui.ENDPOINT):
        return
    try:
        operation.operation_id  # noqa: B018 - raises outside a routed request
    except RuntimeError:
        raise NotFound("No such endpoint") from None


class OrjsonBodies(Jsonifier):
    """connexion's JSON bodies through orjson: a page of 20 appointments encodes in ~6 µs,
    against ~130 µs through Flask's provider (the standard library's encoder, keys sorted).
    The same JSON values, keys in the order the handlers built them, no spaces, text as UTF-8;
    what orjson does not encode itself (datetimes, Decimal) goes to connexion's encoder's
    `default`, as before. A body orjson refuses (text with a lone surrogate, which UTF-8 cannot
    carry: an audit entry may quote one) is encoded as before, the surrogate escaped."""

    _OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_APPEND_NEWLINE

    def __init__(self) -> None:
        super().__init__(flask.json, separators=(",", ":"))
        self._default = JSONEncoder().default

    def dumps(self, data: Any, **kwargs: Any) -> bytes:
        try:
            return orjson.dumps(data, default=self._default, option=self._OPTIONS)
        except TypeError:
            escaped: str = super().dumps(data, **kwargs)
            return escaped.encode()


def create_app(settings: Settings | None = None, services: Services | None = None) -> FlaskApp:
    settings = settings or load_settings()
    services = services or build_services(settings)
    if settings.app_env == "development" and not settings.jwt_secret:
        logger.warning("JWT_SECRET is not set: using the public development secret")

    install_request_id_logging()
    app = FlaskApp(
        __name__,
        specification_dir=SPEC_PATH.parent,
        jsonifier=OrjsonBodies(),
        security_map={"bearer": bearer.BearerChecks},
    )
    wsgi_bridge.install(app)
    limiter = limits.build(settings)
    auditing = AuditingResolver(services.audit_trail, function_resolver=_handler_for)
    app.add_api(
        SPEC_PATH.name,
        resolver=limits.LimitedOperations(auditing, limiter, settings),
        # Operations whose handler does not exist yet answer 501 in the standard format.
        resolver_error=501,
        strict_validation=True,
        validate_responses=settings.validate_responses,
        pythonic_params=True,
        validator_map=with_streaming_uploads(VALIDATOR_MAP),
        # The spec itself is served by portal.published_spec (as written, $refs kept).
        swagger_ui_options=SwaggerUIOptions(
            serve_spec=False,
            spec_path=published_spec.SPEC_JSON_PATH,
            swagger_ui_path="/api/ui",
            swagger_ui_template_dir=str(swagger_ui.TEMPLATE_DIR),
        ),
    )
    operations.decorate_once(app.app)  # before connexion registers its operations
    published_spec.install(app.app)
    swagger_ui.install(app.app)
    spec_paths = published_spec.committed()["paths"]
    errors.register(app, spec_paths)
    app.add_middleware(
        ConcretePathsFirst, position=MiddlewarePosition.BEFORE_ROUTING, spec_paths=spec_paths
    )
    app.app.before_request(_only_routed_requests)
    if services.db.replica is not None:
        read_your_writes.install(app.app)
    app.add_middleware(
        HeadLimitsMiddleware,
        position=MiddlewarePosition.BEFORE_ROUTING,
        max_query_bytes=settings.max_query_string_bytes,
        max_header_bytes=settings.max_header_bytes,
    )
    app.add_middleware(
        BodyLimitMiddleware,
        position=MiddlewarePosition.BEFORE_VALIDATION,
        max_upload_bytes=settings.max_upload_bytes,
        max_json_body_bytes=settings.max_json_body_bytes,
        upload_operations=upload_operations(spec_paths),
    )
    app.add_middleware(
        RequestContextMiddleware,
        position=MiddlewarePosition.BEFORE_EXCEPTION,
        services=services,
        trusted_proxies=settings.trusted_proxies,
    )
    # Inside the request context (so preflights and refusals get its headers too), outside
    # the error handlers (so error responses get CORS headers and browsers can read them).
    app.add_middleware(
        PortalCorsMiddleware,
        position=MiddlewarePosition.BEFORE_EXCEPTION,
        settings=settings,
        spec=published_spec.committed(),
    )
    # After the security scheme (it needs the verified claims), before body validation.
    app.add_middleware(
        CsrfMiddleware,
        position=MiddlewarePosition.BEFORE_VALIDATION,
        tokens=services.tokens,
        write_audit=services.audit_trail.write_now,
    )
    # Added after RequestContextMiddleware, so it runs inside it and sees the request id.
    app.add_middleware(RequestObservationMiddleware, position=MiddlewarePosition.BEFORE_EXCEPTION)
    limits.install(app, limiter, settings)
    app.app.extensions["portal"] = services
    return app

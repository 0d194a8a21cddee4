"""The spec's `x-audit` annotations, enforced: every annotated handler is wrapped so that each
call writes one audit entry (`security.audit`), whatever its outcome. An annotation's
`resourceId` names the path parameter that identifies the resource, so every entry of the
operation, a 404 or a 403 too, names what was asked for."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple, TypeVar

import flask
from connexion.context import context
from connexion.resolver import Resolution, Resolver

from portal.web.errors import code_of, status_of
from security.audit import AuditEvent, AuditRecord, AuditTrail, recording

F = TypeVar("F", bound=Callable[..., Any])


class Annotation(NamedTuple):
    """An operation's `x-audit`: its action, the kind of resource, and the path parameter
    holding the resource's id (None when the path has none: lists, creations)."""

    action: str
    resource: str
    resource_param: str | None = None


def annotation_of(operation: dict[str, Any]) -> Annotation | None:
    """The operation's `x-audit`; None for `x-audit: false`."""
    annotation = operation.get("x-audit")
    if not annotation:
        return None
    param = annotation.get("resourceId")
    return Annotation(
        str(annotation["action"]), str(annotation["resource"]), str(param) if param else None
    )


def outcome_of(exc: BaseException) -> str:
    """An audit entry's status for a request that ended with `exc`: refusals are `denied`."""
    return "denied" if status_of(exc) == 403 else "failure"


def error_details(exc: BaseException) -> dict[str, Any]:
    """What the entry of a failed request says of the answer the client saw."""
    status = status_of(exc)
    return {"httpStatus": status, "error": code_of(status)}


def _resource_id(param: str | None) -> str | None:
    """The value of the path parameter `param`, as the client sent it (flask spells a
    parameter's `-` as `_`)."""
    if param is None:
        return None
    value = (flask.request.view_args or {}).get(param.replace("-", "_"))
    return None if value is None else str(value)[:64]


def _begin(annotation: Annotation) -> AuditEvent:
    token_info = (context.get("token_info") if context else None) or {}
    role = token_info.get("role")
    request = flask.request
    who = AuditRecord(
        action=annotation.action,
        resource=annotation.resource,
        resource_id=_resource_id(annotation.resource_param),
        status="success",  # until the request ends otherwise
        user_id=token_info.get("userId"),
        user_role=str(role).lower() if role else None,
        ip=request.remote_addr,
        user_agent=request.headers.get("User-Agent"),
        request_id=request.headers.get("X-Request-ID"),
    )
    return AuditEvent(who)


def audited(handler: F, annotation: Annotation, trail: AuditTrail) -> F:
    """`handler`, with one audit entry written for every call, whatever its outcome."""

    @functools.wraps(handler)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with recording(_begin(annotation)) as event:
            try:
                result = handler(*args, **kwargs)
            except Exception as exc:
                # Also after a committed change whose request then failed: this entry
                # records the outcome the client saw.
                trail.finish(event, outcome_of(exc), **error_details(exc))
                raise
            trail.finish(event, "success")
            return result

    return wrapper  # type: ignore[return-value]  # same signature as `handler`


class AuditingResolver(Resolver):
    """Resolves handlers as `Resolver` does and wraps each whose operation carries an
    `x-audit` annotation, so the audit trail is enforced here, never per handler."""

    def __init__(self, trail: AuditTrail, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.trail = trail

    def resolve(self, operation: Any) -> Resolution:
        resolution = super().resolve(operation)
        # connexion keeps the raw operation object (with its x- extensions) here.
        annotation = annotation_of(operation._operation)
        if annotation is not None:
            resolution.function = audited(resolution.function, annotation, self.trail)
        return resolution

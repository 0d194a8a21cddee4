"""Connexion validators that report every failing field, not just the first.

The spec stays the only place where rules are written; these classes only change how
jsonschema's findings are reported: one `FieldError` per offending field, named as the client
sent it (`reason`, `provider.id`, `startDate`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any, cast

from connexion.datastructures import MediaTypeDict
from connexion.exceptions import BadRequestProblem
from connexion.json_schema import Draft4RequestValidator
from connexion.lifecycle import ConnexionRequest
from connexion.utils import is_null, is_nullable
from connexion.validators import (
    FormDataValidator,
    JSONRequestBodyValidator,
    JSONResponseBodyValidator,
    MultiPartFormDataValidator,
    ParameterValidator,
)
from jsonschema import Draft4Validator, FormatChecker, ValidationError

from kernel.errors import FieldError

# How deep a JSON body may nest: the spec's deepest body is a few levels; every layer that walks
# a document (the parser, jsonschema, the handlers) recurses once per level.
MAX_JSON_DEPTH = 32
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")
_NOT_TEXT = "must be valid Unicode text (it holds a lone surrogate)"

# Draft 4's checker knows neither `date` nor `uuid`; the spec relies on both.
FORMAT_CHECKER = FormatChecker()

_compiled: dict[tuple[type, int], tuple[Any, Draft4Validator]] = {}


def compiled(validator_class: type[Draft4Validator], schema: Any) -> Draft4Validator:
    """One validator per schema of the spec, built on first use and kept: building one costs
    more than most validations, and connexion would build one per request."""
    key = (validator_class, id(schema))
    found = _compiled.get(key)
    if found is None or found[0] is not schema:  # keeping `schema` keeps its id unique
        found = _compiled[key] = (schema, validator_class(schema, format_checker=FORMAT_CHECKER))
    return found[1]


class RequestValidationProblem(BadRequestProblem):
    """A 400 carrying one entry per failing field."""

    def __init__(self, details: list[FieldError]) -> None:
        super().__init__(detail="Validation failed")
        self.details = details


def _humanize(error: ValidationError) -> str:
    """A sentence a person can act on, from a jsonschema error."""
    value: Any = error.validator_value  # the schema keyword's value: a number, a list, a pattern
    kind = error.validator
    if kind == "minLength":
        return f"must be at least {value} characters"
    if kind == "maxLength":
        return f"must be at most {value} characters"
    if kind == "minimum":
        return f"must be at least {value}"
    if kind == "maximum":
        return f"must be at most {value}"
    if kind == "enum":
        return "must be one of: " + ", ".join(map(str, value))
    if kind == "type":
        return f"must be of type {value}"
    if kind == "format":
        return {
            "date": "must be a date in YYYY-MM-DD format",
            "date-time": "must be an ISO 8601 date-time",
            "uuid": "must be a UUID",
            "email": "must be a valid email address",
        }.get(value, f"must be a valid {value}")
    if kind == "pattern":
        if "AM|PM" in value:
            return "must be a time in hh:mm AM/PM format, e.g. 10:00 AM"
        if "\\x00" in value:
            return "must not contain control characters"
        return f"must match the pattern {value}"
    return error.message


def _join(path: Iterable[Any]) -> str:
    return ".".join(str(part) for part in path)


def field_errors(errors: Iterable[ValidationError], prefix: str = "") -> list[FieldError]:
    """Flatten jsonschema errors into field errors, in a stable order, one per field."""
    found: dict[str, FieldError] = {}
    for error in sorted(errors, key=lambda e: (list(map(str, e.absolute_path)), e.validator)):
        if error.validator == "allOf" and error.context:
            # `allOf` wraps the real finding (e.g. a FreeText pattern); report that instead.
            for sub in field_errors(error.context):
                name = _join(filter(None, [prefix, _join(error.absolute_path), sub.field]))
                found.setdefault(name, FieldError(name, sub.message))
            continue
        base = _join(error.absolute_path)
        if error.validator == "required":
            required = cast(list[str], error.validator_value)
            given = cast(dict[str, Any], error.instance or {})
            missing = [p for p in required if p not in given]
            for name in missing:
                full = _join(filter(None, [prefix, base, name]))
                found.setdefault(full, FieldError(full, "is required"))
            continue
        if error.validator == "additionalProperties" and isinstance(error.instance, dict):
            allowed = set(cast(dict[str, Any], error.schema).get("properties", {}))
            for name in sorted(set(error.instance) - allowed):
                full = _join(filter(None, [prefix, base, name]))
                found.setdefault(full, FieldError(full, "is not an allowed field"))
            continue
        full = _join(filter(None, [prefix, base])) or "body"
        found.setdefault(full, FieldError(full, _humanize(error)))
    return list(found.values())


def _too_deep() -> FieldError:
    return FieldError("body", f"must not nest more than {MAX_JSON_DEPTH} levels deep")


def _shown_name(name: str) -> str:
    """A field name as an error may repeat it: lone surrogates written as escapes."""
    return name.encode("utf-8", "backslashreplace").decode("utf-8")


def unsafe_json_values(document: Any) -> list[FieldError]:
    """What no schema can say of a parsed JSON document: nesting deeper than MAX_JSON_DEPTH,
    and strings (values or names) holding a lone surrogate (`"\\ud800"` is valid JSON but no
    text: it cannot be encoded, stored, hashed or logged), each named as the client sent it."""
    found: list[FieldError] = []
    pending: list[tuple[Any, tuple[str, ...], int]] = [(document, (), 0)]
    while pending:
        value, path, depth = pending.pop()
        if isinstance(value, dict | list):
            if depth >= MAX_JSON_DEPTH:
                return [_too_deep()]
            items = value.items() if isinstance(value, dict) else enumerate(value)
            for key, item in items:
                name = _shown_name(str(key))
                if isinstance(key, str) and _LONE_SURROGATE.search(key):
                    found.append(FieldError(_join([*path, name]), _NOT_TEXT))
                pending.append((item, (*path, name), depth + 1))
        elif isinstance(value, str) and _LONE_SURROGATE.search(value):
            found.append(FieldError(_join(path) or "body", _NOT_TEXT))
    return sorted(set(found), key=lambda error: error.field)


class CollectingJSONBodyValidator(JSONRequestBodyValidator):
    @property
    def _validator(self) -> Draft4Validator:
        return compiled(Draft4RequestValidator, self._schema)

    async def _parse(self, stream: Any, scope: Any) -> Any:
        body = b"".join([message async for message in stream])
        if not body:
            return None
        try:
            parsed = json.loads(body.decode(self._encoding))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise RequestValidationProblem(
                [FieldError("body", f"must be valid JSON ({exc})")]
            ) from None
        except RecursionError:
            # deeper than the parser recurses: far deeper than the limit
            raise RequestValidationProblem([_too_deep()]) from None
        details = unsafe_json_values(parsed)
        if details:
            raise RequestValidationProblem(details)
        return parsed

    def _validate(self, body: Any) -> None:
        if body is None and not self._nullable:
            raise RequestValidationProblem([FieldError("body", "is required")])
        details = field_errors(self._validator.iter_errors(body))
        if details:
            raise RequestValidationProblem(details)


class CollectingParameterValidator(ParameterValidator):
    """Validates query, path and header parameters and reports all failures at once."""

    def _check(self, location: str, param: dict[str, Any], value: Any) -> FieldError | None:
        name = param["name"]
        if value is None:
            return FieldError(name, "is required") if param.get("required") else None
        if is_nullable(param) and is_null(value):
            return None
        schema = param.get("schema", param)
        errors = list(compiled(Draft4Validator, schema).iter_errors(value))
        if not errors:
            return None
        return FieldError(name, _humanize(errors[0]))

    @staticmethod
    def _source(request: ConnexionRequest, location: str) -> Any:
        """The request's values of one parameter location, read only for an operation that
        declares parameters there (the headers and cookies of most requests are never parsed)."""
        if location == "query":
            return request.query_params
        if location == "path":
            path = request.path_params
            return {k.replace("_", "-"): v for k, v in path.items()} | path
        if location == "header":
            return request.headers
        return request.cookies

    def validate_request(self, request: ConnexionRequest) -> None:
        unknown: list[FieldError] = []
        if self.strict_validation:
            extra = self.validate_query_parameter_list(
                request, security_params=self.security_query_params
            )
            # Each unknown parameter is a detail under its own name, like any other field.
            unknown = [FieldError(name, "is not a known query parameter") for name in sorted(extra)]
        details = [
            problem
            for location, params in self.parameters.items()
            if params
            for source in (self._source(request, location),)
            for param in params
            if (problem := self._check(location, param, source.get(param["name"])))
        ]
        details = unknown + details
        if details:
            raise RequestValidationProblem(details)


VALIDATOR_MAP = {
    "parameter": CollectingParameterValidator,
    "body": MediaTypeDict(
        {
            "*/*json": CollectingJSONBodyValidator,
            "application/x-www-form-urlencoded": FormDataValidator,
            "multipart/form-data": MultiPartFormDataValidator,
        }
    ),
    # No text/plain response validator: connexion's reads the whole body into memory (and
    # parses it as JSON), which would break streamed plain-text attachment downloads.
    "response": MediaTypeDict({"*/*json": JSONResponseBodyValidator}),
}

"""Operations decorated once: connexion's FlaskOperation builds its decorator chain anew on
every request (a FlaskDecorator, the parameter and response decorators around the handler, an
inspection of the handler's arguments, a URI parser for the operation's parameters). None of it
depends on the request, so here it is built once per operation and kept."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import flask
from connexion.apps.flask import FlaskOperation
from connexion.decorators import FlaskDecorator
from connexion.uri_parsing import AbstractURIParser


class _DecoratedOnce(FlaskDecorator):
    """FlaskDecorator whose chain is built at decoration time; the URI parser, which reads the
    operation from connexion's request context, on the operation's first request."""

    def __call__(self, function: Callable[..., Any]) -> Callable[..., Any]:
        decorated = self.decorate(function)
        parser: AbstractURIParser | None = None

        @functools.wraps(function)
        def wrapper(*_args: Any, **_kwargs: Any) -> Any:
            nonlocal parser
            if parser is None:  # two first requests at once build equal parsers
                parser = self.uri_parser
            return decorated(self.framework.get_request(uri_parser=parser))

        return wrapper


class OperationDecoratedOnce(FlaskOperation):
    """A FlaskOperation (same handler, name and connexion settings) decorated once."""

    @classmethod
    def of(cls, operation: FlaskOperation) -> OperationDecoratedOnce:
        return cls(
            fn=operation._fn,
            jsonifier=operation.jsonifier,
            operation_id=operation.operation_id,
            pythonic_params=operation.pythonic_params,
        )

    @functools.cached_property
    def fn(self) -> Callable[..., Any]:
        decorator = _DecoratedOnce(pythonic_params=self.pythonic_params, jsonifier=self.jsonifier)
        return decorator(self._fn)


class _ViewsDecoratedOnce(dict[str, Callable[..., Any]]):
    """Flask's view functions, where a connexion operation is stored decorated once."""

    def __setitem__(self, endpoint: str, view: Callable[..., Any]) -> None:
        if isinstance(view, FlaskOperation) and not isinstance(view, OperationDecoratedOnce):
            view = OperationDecoratedOnce.of(view)
        super().__setitem__(endpoint, view)


def decorate_once(app: flask.Flask) -> None:
    """From now on, each connexion operation `app` registers (connexion registers them when
    it builds its middleware stack, on the first request) is stored decorated once."""
    app.view_functions = _ViewsDecoratedOnce(app.view_functions)

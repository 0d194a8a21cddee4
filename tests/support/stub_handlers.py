"""An app whose not-yet-written handler modules are replaced by stubs, for tests of cross-cutting
rules (CSRF, rate limits) that must hold on every operation, written or not.

A stub answers 404 in the standard format (a status every operation declares). Modules that
exist are used as they are, so the tests keep running against the real handlers once they land.
"""

from __future__ import annotations

import importlib
import sys
import types
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from connexion import FlaskApp

from kernel.errors import NotFound
from kernel.settings import Settings
from portal.runtime import Services
from portal.web.app import create_app

HANDLER_MODULES = ("handlers.appointments", "handlers.providers", "handlers.medical_records")


def _stub_module(name: str) -> types.ModuleType:
    module = types.ModuleType(name, "test stub: every operation answers 404")

    def stub(*_args: Any, **_kwargs: Any) -> Any:
        raise NotFound("Stub handler (the real one is not written yet)")

    module.__getattr__ = lambda _attr: stub  # type: ignore[method-assign]
    return module


def _missing(name: str) -> bool:
    try:
        importlib.import_module(name)
    except ModuleNotFoundError:
        return True
    return False


@contextmanager
def app_with_stub_handlers(settings: Settings, services: Services) -> Iterator[FlaskApp]:
    """create_app(settings, services), resolved while stubs stand in for missing modules."""
    installed = [name for name in HANDLER_MODULES if _missing(name)]
    for name in installed:
        sys.modules[name] = _stub_module(name)
    try:
        app = create_app(settings, services)
        app.test_client().get("/health")  # connexion resolves handlers on the first request
    finally:
        for name in installed:
            sys.modules.pop(name, None)
    yield app

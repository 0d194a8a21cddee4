"""Signatures computed once: connexion's security layer asks on every request which keywords a
security scheme's check takes, and `inspect.signature` answers a kept signature (PEP 362's
`__signature__`) without rebuilding it from the code object. (Handlers are decorated once, by
`portal.web.operations`.)"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, TypeVar

F = TypeVar("F", bound=Callable[..., Any])


def with_signature_once(function: F) -> F:
    """`function` itself, its signature computed now and kept on it (the same signature)."""
    if "__signature__" not in vars(function):
        function.__signature__ = inspect.signature(function)  # type: ignore[attr-defined]
    return function

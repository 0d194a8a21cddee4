"""The services of the running app (settings, database, tokens, storage), reachable from code
that connexion calls outside Flask (the security scheme) as well as from handlers."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from models.search_directory import DirectorySnapshot
    from portal.db import Database
    from portal.settings import Settings
    from portal.storage import Storage
    from security.tokens import TokenService


@dataclass
class Services:
    settings: Settings
    db: Database
    tokens: TokenService
    storage: Storage
    search_directory: DirectorySnapshot


_current: ContextVar[Services] = ContextVar("portal_services")


def services() -> Services:
    """The services of the app serving the current request."""
    try:
        return _current.get()
    except LookupError:
        raise RuntimeError("no portal app is handling a request in this context") from None


def activate(current: Services) -> object:
    """Make `current` the services of this context; returns a token for `deactivate`."""
    return _current.set(current)


def deactivate(token: object) -> None:
    _current.reset(token)  # type: ignore[arg-type]

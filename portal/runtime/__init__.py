"""The running app's services, and the background tasks each server process runs."""

from portal.runtime.services import Services, build_services

__all__ = ["Services", "build_services"]

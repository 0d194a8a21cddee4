"""What can go wrong with the audit trail."""

from __future__ import annotations


class AppendOnlyViolation(RuntimeError):
    """Application code tried to change or delete an audit entry (a bug, never a request's
    fault: it is not a domain error the API answers)."""

"""What can go wrong with notifications."""

from __future__ import annotations

from kernel.errors import Unavailable


class DeliveryFailed(Unavailable):
    """The mail server refused or did not answer; the message waits for its next attempt."""

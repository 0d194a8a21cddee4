"""The provider directory as search sees it: who is listed, in what order, and when they work.

A search must know every matching provider to answer `total`, and with `date` it judges each
one's day; at clinic-network scale, reading thousands of provider and window rows through the
pure-Python MySQL driver cost more than everything else a search does. That part of the data
changes rarely (no API writes providers or their availability in this phase: the seed or an
operator does), so search reads it from a snapshot held in memory and read again once it is
older than SEARCH_DIRECTORY_TTL_SECONDS: a new, renamed or deactivated provider, or changed
availability, shows in search within that time. The filters (specialty, location, insurance),
the bookings, and the time off and extra hours of the dates a search judges are read from the
database on every search; booking, rescheduling and the slots list never use the snapshot (they
read the provider's day fresh, `load_day`). A change of weekly windows through the schedule API
clears this process's snapshot at once (`clear`); other processes see it within the TTL.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from models.accounts.tables import User
from models.appointments.queries.availability import active_windows, window_of
from models.appointments.rules.slots import Window
from models.providers.tables import ProviderProfile

# Results are listed alphabetically; the id breaks ties so pages never overlap.
ORDER = (User.last_name, User.first_name, User.id)

Weekly = Mapping[str, Sequence[Window]]
_NO_WINDOWS: Weekly = {}


@dataclass(frozen=True)
class SearchDirectory:
    """Active providers' user ids in result order, and their active weekly windows."""

    in_order: Sequence[str]
    windows_by_provider: Mapping[str, Weekly]
    windows_by_weekday: Mapping[str, Mapping[str, Sequence[Window]]]

    def weekly(self, provider_user_id: str) -> Weekly:
        return self.windows_by_provider.get(provider_user_id, _NO_WINDOWS)

    def open_on(self, weekday: str) -> Mapping[str, Sequence[Window]]:
        """The providers with a window on `weekday` (a name of `WEEKDAY_NAMES`), with them."""
        return self.windows_by_weekday.get(weekday, {})


def load_search_directory(session: Session) -> SearchDirectory:
    """The directory as it is now, in two statements."""
    in_order = tuple(
        session.scalars(
            sa.select(User.id)
            .join(ProviderProfile, ProviderProfile.user_id == User.id)
            .where(User.is_active.is_(True))
            .order_by(*ORDER)
        )
    )
    listed = set(in_order)
    by_provider: dict[str, dict[str, list[Window]]] = defaultdict(lambda: defaultdict(list))
    by_weekday: dict[str, dict[str, list[Window]]] = defaultdict(lambda: defaultdict(list))
    for user_id, weekday, start, end, location_id, zone in session.execute(active_windows()):
        if user_id in listed:
            window = window_of(start, end, location_id, zone)
            by_provider[user_id][weekday].append(window)
            by_weekday[weekday][user_id].append(window)
    # One tuple per distinct schedule of a day, shared by every provider who works it: search
    # then judges an unbooked day once per schedule (`rules.slots.providers_free_on`).
    shared: dict[tuple[Window, ...], tuple[Window, ...]] = {}

    def one(windows: list[Window]) -> tuple[Window, ...]:
        as_tuple = tuple(sorted(windows))
        return shared.setdefault(as_tuple, as_tuple)

    return SearchDirectory(
        in_order,
        {uid: {day: one(ws) for day, ws in days.items()} for uid, days in by_provider.items()},
        {day: {uid: one(ws) for uid, ws in uids.items()} for day, uids in by_weekday.items()},
    )


class DirectorySnapshot:
    """The directory as read at most `ttl_seconds` ago (0: read again for every search); one
    per process, shared by its request threads."""

    def __init__(self, ttl_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        self._lock = threading.Lock()
        self._directory: SearchDirectory | None = None
        self._read_at = 0.0

    def current(self, session: Session) -> SearchDirectory:
        """The snapshot; read first (two statements) when there is none or it is too old."""
        with self._lock:  # one thread reads it, the others wait for that and use it
            started = self._clock()
            if self._directory is None or started - self._read_at >= self.ttl_seconds:
                self._directory = load_search_directory(session)
                self._read_at = started
            return self._directory

    def clear(self) -> None:
        """Forget the snapshot: the next search reads the directory again."""
        with self._lock:
            self._directory = None

"""Progress of the long operator commands (`portal db seed --appointments N`, `portal keys
rotate`) on stderr: a tqdm bar on a terminal, nothing when the output is a log or a pipe."""

from __future__ import annotations

from typing import Any

from tqdm import tqdm


def progress(description: str, total: int | None, unit: str) -> tqdm[Any]:
    """A bar to `update(n)` and `close()` (or use as a context manager)."""
    # disable=None: only on a terminal, so CI logs and pipes get the final report alone
    return tqdm(total=total, desc=description, unit=f" {unit}", disable=None, leave=False)

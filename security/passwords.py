"""Password hashing with argon2id.

Parameters: OWASP's recommended argon2id configuration (Password Storage Cheat Sheet: 19 MiB
of memory, 2 passes, 1 lane). argon2-cffi's default (RFC 9106's 64 MiB, 3 passes, 4 lanes)
costs an order of magnitude more CPU per login, so a burst of logins would queue every other
request behind it (docs/performance.md has the measured cost). Login attempts are also rate
limited (per IP and per email, portal.web.limits). Hashes made with other parameters still
verify and are re-hashed with these at the user's next successful login
(models.accounts.use_cases).

Each process runs at most PASSWORD_HASH_CONCURRENCY hashes at once (1 by default, with one
worker process per core): argon2 runs outside the GIL, so without a bound a burst of logins takes
every core at once and every other request waits behind it; with it, logins queue among
themselves and the rest of the traffic keeps its cores.
"""

from __future__ import annotations

import threading

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1, type=Type.ID)

# Verified when the email is unknown, so a wrong email costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("no-such-user-timing-equaliser")


_hashing = threading.BoundedSemaphore(1)


def allow_concurrent_hashes(count: int) -> None:
    """How many argon2 computations this process runs at once (the app factory sets it)."""
    global _hashing
    _hashing = threading.BoundedSemaphore(count)


def hash_password(password: str) -> str:
    with _hashing:
        return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches; always spends one argon2 verification."""
    try:
        with _hashing:
            matches = _hasher.verify(password_hash or _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return False
    return matches and password_hash is not None


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


# The spec states the same bounds (ChangePasswordRequest.newPassword); the rules below are what it
# cannot express. Length over composition rules, as NIST SP 800-63B advises.
MIN_PASSWORD_LENGTH = 12
MAX_PASSWORD_LENGTH = 256


def password_problems(new: str, *, current: str, email: str) -> list[str]:
    """Why `new` may not replace `current` for the account `email`; empty when it may."""
    problems = []
    if not MIN_PASSWORD_LENGTH <= len(new) <= MAX_PASSWORD_LENGTH:
        problems.append(
            f"Password must be {MIN_PASSWORD_LENGTH} to {MAX_PASSWORD_LENGTH} characters long"
        )
    if new == current:
        problems.append("New password must differ from the current one")
    local_part = email.partition("@")[0].strip().lower()
    if len(local_part) >= 3 and local_part in new.lower():
        problems.append("Password must not contain the account's email name")
    if new and len(set(new)) < 4:
        problems.append("Password must use at least 4 different characters")
    return problems

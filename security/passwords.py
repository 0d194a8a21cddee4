"""Password hashing with argon2id.

Parameters: OWASP's recommended argon2id configuration (Password Storage Cheat Sheet: 19 MiB
of memory, 2 passes, 1 lane). argon2-cffi's default (RFC 9106's 64 MiB, 3 passes, 4 lanes)
costs about 250 ms of CPU per login on one of this deployment's cores, so a burst of logins
queues every other request behind it; this one costs about 30 ms. Login attempts are also
rate limited (per IP and per email, portal.limits). Hashes made with other parameters still
verify and are re-hashed with these at the user's next successful login (security.sessions).
"""

from __future__ import annotations

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1, type=Type.ID)

# Verified when the email is unknown, so a wrong email costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("no-such-user-timing-equaliser")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches; always spends one argon2 verification."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)

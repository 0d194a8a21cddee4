"""PHI encryption at rest: AES-256-GCM through a SQLAlchemy column type.

A stored value reads `v1:<key id>:<base64(nonce + ciphertext + tag)>`. The key id travels with
the value, so after a rotation the old key still decrypts rows not yet re-encrypted; the
column's name is bound in as associated data, so a ciphertext copied into another column does
not decrypt. Models declare `EncryptedText("appointments.reason")` and stay unaware of keys.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kernel.settings import parse_phi_keys

logger = logging.getLogger("portal.phi")

PREFIX = "v1"
NONCE_BYTES = 12
DEV_KEY_ID = "dev"
# Public on purpose: only development and tests may run on it (settings refuse production).
_DEV_KEY = hashlib.sha256(b"patient-portal development PHI key - not secret").digest()


class PhiKeyError(ValueError):
    """PHI_ENCRYPTION_KEYS is malformed, or a stored value names a key we do not have."""


class PhiDecryptionError(ValueError):
    """A stored value was altered, or bound to another column: it does not authenticate."""


@dataclass(frozen=True)
class Keyring:
    """Keys by id; `current_id` encrypts, every key decrypts."""

    keys: dict[str, bytes]
    current_id: str
    # One cipher per key, built once: a list decrypts a value per row, and building the AES-GCM
    # object each time cost about as much as the decryption itself. (Immutable, so threads
    # share them.)
    _ciphers: dict[str, AESGCM] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        ciphers = {kid: AESGCM(key) for kid, key in self.keys.items()}
        object.__setattr__(self, "_ciphers", ciphers)

    @classmethod
    def parse(cls, text: str) -> Keyring:
        """`kid1:base64key,kid2:base64key`; the first is the current one."""
        try:
            keys = parse_phi_keys(text)
        except ValueError as exc:
            raise PhiKeyError(str(exc)) from None
        return cls(keys, next(iter(keys)))

    @classmethod
    def development(cls) -> Keyring:
        return cls({DEV_KEY_ID: _DEV_KEY}, DEV_KEY_ID)

    def reading_development_data(self) -> Keyring:
        """These keys, plus the public development key to decrypt with (never to encrypt):
        what `portal keys rotate --from-development-key` moves development data off."""
        return Keyring({**self.keys, DEV_KEY_ID: _DEV_KEY}, self.current_id)

    def encrypt(self, plaintext: str, context: str) -> str:
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._ciphers[self.current_id].encrypt(nonce, plaintext.encode(), context.encode())
        return f"{PREFIX}:{self.current_id}:{base64.b64encode(nonce + sealed).decode()}"

    def decrypt(self, stored: str, context: str) -> str:
        if not is_encrypted(stored):
            # Rows written before encryption was switched on; `portal keys rotate` seals them.
            return stored
        _, kid, payload = stored.split(":", 2)
        cipher = self._ciphers.get(kid)
        if cipher is None:
            hint = (
                "it is the public development key: `portal keys rotate --from-development-key` "
                "re-encrypts such values under PHI_ENCRYPTION_KEYS"
                if kid == DEV_KEY_ID
                else "is PHI_ENCRYPTION_KEYS complete?"
            )
            raise PhiKeyError(
                f"a value is sealed with PHI key {kid!r}, which is not configured ({hint})"
            )
        raw = base64.b64decode(payload)
        try:
            return cipher.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], context.encode()).decode()
        except InvalidTag as exc:
            raise PhiDecryptionError(f"a {context} value does not authenticate") from exc


def is_encrypted(stored: str) -> bool:
    return stored.startswith(f"{PREFIX}:") and stored.count(":") >= 2


def key_id_of(stored: str) -> str | None:
    return stored.split(":", 2)[1] if is_encrypted(stored) else None


def generate_key() -> str:
    """A fresh base64 AES-256 key, for PHI_ENCRYPTION_KEYS."""
    return base64.b64encode(os.urandom(32)).decode()


_keyring: Keyring | None = None


def use_keyring(keyring: Keyring) -> None:
    """Install the process's keys (the app factory and the CLI do this once at start)."""
    global _keyring
    _keyring = keyring


def keyring() -> Keyring:
    if _keyring is None:
        raise PhiKeyError("no PHI keyring installed (build_services installs it)")
    return _keyring


class EncryptedText(sa.TypeDecorator[str]):
    """TEXT holding an AES-GCM sealed string; the Python side sees plain `str`."""

    impl = sa.Text
    cache_ok = True

    def __init__(self, context: str) -> None:
        super().__init__()
        self.context = context

    def process_bind_param(self, value: str | None, dialect: sa.Dialect) -> str | None:
        return None if value is None else keyring().encrypt(value, self.context)

    def process_result_value(self, value: Any, dialect: sa.Dialect) -> str | None:
        return None if value is None else keyring().decrypt(value, self.context)

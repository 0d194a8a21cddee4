"""Streaming authenticated encryption of stored files (AES-256-GCM in 64 KiB segments).

Layout of an encrypted file: a 24-byte header (magic `PFE1`, 4 reserved bytes, 16-byte random
salt), then segments of at most 64 KiB of plaintext, each sealed with its own 16-byte tag.

- Every file gets its own key, derived from the master key, the salt and the storage key
  (HKDF-SHA256), so a file copied under another key does not decrypt, and nonces can simply
  count segments without ever repeating under one key.
- The nonce is the segment number plus a "last segment" flag (the STREAM construction), so
  dropping, reordering or truncating segments fails authentication, as does a changed header
  (it is the associated data of every segment).

Memory stays at about one segment per stream, whatever the file size.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable, Iterator

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

MAGIC = b"PFE1"
SALT_BYTES = 16
HEADER_BYTES = len(MAGIC) + 4 + SALT_BYTES
SEGMENT_BYTES = 64 * 1024
TAG_BYTES = 16
SEALED_SEGMENT_BYTES = SEGMENT_BYTES + TAG_BYTES


class CorruptFile(Exception):
    """The stored bytes are not a file this key encrypted (tampered, truncated or foreign)."""


def _file_cipher(master_key: bytes, salt: bytes, storage_key: str) -> AESGCM:
    derived = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=salt,
        info=b"portal-file-v1|" + storage_key.encode(),
    ).derive(master_key)
    return AESGCM(derived)


def _nonce(index: int, last: bool) -> bytes:
    return index.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


def encrypt_stream(master_key: bytes, storage_key: str, chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Yield the header, then one sealed segment per 64 KiB of plaintext (at least one)."""
    header = MAGIC + bytes(4) + os.urandom(SALT_BYTES)
    cipher = _file_cipher(master_key, header[-SALT_BYTES:], storage_key)
    yield header
    for index, (segment, last) in enumerate(_segments(chunks, SEGMENT_BYTES)):
        yield cipher.encrypt(_nonce(index, last), segment, header)


def decrypt_stream(master_key: bytes, storage_key: str, chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Yield the plaintext segment by segment; raise CorruptFile on any tampering."""
    source = iter(chunks)
    header, rest = _split_head(source, HEADER_BYTES)
    if len(header) != HEADER_BYTES or not header.startswith(MAGIC):
        raise CorruptFile("not an encrypted file")
    cipher = _file_cipher(master_key, header[-SALT_BYTES:], storage_key)
    segments = _segments(itertools.chain([rest], source), SEALED_SEGMENT_BYTES)
    for index, (sealed, last) in enumerate(segments):
        try:
            plain = cipher.decrypt(_nonce(index, last), sealed, header)
        except InvalidTag:
            raise CorruptFile(f"segment {index} does not authenticate") from None
        yield plain


def encrypted_size(plain_size: int) -> int:
    """Bytes at rest for `plain_size` bytes of plaintext."""
    segments = max(1, -(-plain_size // SEGMENT_BYTES))
    return HEADER_BYTES + plain_size + segments * TAG_BYTES


def _segments(chunks: Iterable[bytes], size: int) -> Iterator[tuple[bytes, bool]]:
    """Re-cut `chunks` into pieces of `size` bytes, flagging the last (possibly empty) one.

    A full piece is released only once more bytes are known to follow, so the last piece is
    recognised without knowing the total length in advance.
    """
    buffer = bytearray()
    for chunk in chunks:
        buffer += chunk
        while len(buffer) > size:
            yield bytes(buffer[:size]), False
            del buffer[:size]
    yield bytes(buffer), True


def _split_head(source: Iterator[bytes], count: int) -> tuple[bytes, bytes]:
    """The first `count` bytes of `source`, and whatever the last chunk read held beyond."""
    buffer = bytearray()
    for chunk in source:
        buffer += chunk
        if len(buffer) >= count:
            break
    return bytes(buffer[:count]), bytes(buffer[count:])

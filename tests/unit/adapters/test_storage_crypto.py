"""The streaming file cipher: round trips at segment boundaries, and every kind of tampering."""

from __future__ import annotations

import os

import pytest

from adapters.storage.crypto import (
    HEADER_BYTES,
    SEALED_SEGMENT_BYTES,
    SEGMENT_BYTES,
    CorruptFile,
    decrypt_stream,
    encrypt_stream,
    encrypted_size,
)

KEY = bytes(range(32))


def _encrypt(data: bytes, storage_key: str = "records/a", piece: int = 1000) -> bytes:
    chunks = [data[i : i + piece] for i in range(0, len(data), piece)] or [b""]
    return b"".join(encrypt_stream(KEY, storage_key, chunks))


def _decrypt(blob: bytes, storage_key: str = "records/a", piece: int = 777) -> bytes:
    return b"".join(
        decrypt_stream(KEY, storage_key, [blob[i : i + piece] for i in range(0, len(blob), piece)])
    )


@pytest.mark.parametrize(
    "size", [0, 1, SEGMENT_BYTES - 1, SEGMENT_BYTES, SEGMENT_BYTES + 1, 3 * SEGMENT_BYTES, 200_003]
)
def test_round_trip_at_and_around_segment_boundaries(size):
    data = os.urandom(size)
    blob = _encrypt(data)
    assert len(blob) == encrypted_size(size)
    assert _decrypt(blob) == data


def test_ciphertext_hides_the_plaintext_and_differs_every_time():
    data = b"Patient: Emily Carter, A1c 5.4%" * 100
    first, second = _encrypt(data), _encrypt(data)
    assert first != second
    assert b"Emily" not in first and data[:32] not in first


def test_a_file_under_another_storage_key_does_not_decrypt():
    blob = _encrypt(b"hello")
    with pytest.raises(CorruptFile):
        _decrypt(blob, storage_key="records/b")


def test_another_master_key_does_not_decrypt():
    blob = _encrypt(b"hello")
    with pytest.raises(CorruptFile):
        b"".join(decrypt_stream(bytes(32), "records/a", [blob]))


@pytest.mark.parametrize(
    "damage",
    [
        lambda b: b[: HEADER_BYTES + SEALED_SEGMENT_BYTES],  # whole last segments dropped
        lambda b: b[:-1],  # truncated
        lambda b: b[:10],  # header cut
        lambda b: b"XXXX" + b[4:],  # not our magic
        lambda b: (
            b[: HEADER_BYTES - 1] + bytes([b[HEADER_BYTES - 1] ^ 1]) + b[HEADER_BYTES:]
        ),  # salt
        lambda b: b[:100] + bytes([b[100] ^ 1]) + b[101:],  # a flipped bit
        lambda b: (
            b[:HEADER_BYTES]  # segments swapped
            + b[HEADER_BYTES + SEALED_SEGMENT_BYTES : HEADER_BYTES + 2 * SEALED_SEGMENT_BYTES]
            + b[HEADER_BYTES : HEADER_BYTES + SEALED_SEGMENT_BYTES]
            + b[HEADER_BYTES + 2 * SEALED_SEGMENT_BYTES :]
        ),
    ],
)
def test_tampering_is_detected(damage):
    blob = _encrypt(os.urandom(3 * SEGMENT_BYTES + 5))
    with pytest.raises(CorruptFile):
        _decrypt(damage(blob))

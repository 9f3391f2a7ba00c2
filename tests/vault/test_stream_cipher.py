"""The chunked AES-GCM format (crypto/stream.py), tested directly: it is a pure function."""

from __future__ import annotations

import os

import pytest

from consent_service.crypto.envelope import DecryptionError
from consent_service.crypto.stream import (
    HEADER,
    RECORD_OVERHEAD,
    ciphertext_size,
    decrypt_stream,
    encrypt_stream,
)

KEY = os.urandom(32)
CONTEXT = ("reference", "hld_a", "ref_a")
CHUNK = 1024


def _seal(data: bytes, context: tuple[str, ...] = CONTEXT) -> bytes:
    return b"".join(encrypt_stream(KEY, [data], context=context, chunk_size=CHUNK))


def _open(blob: bytes, context: tuple[str, ...] = CONTEXT) -> bytes:
    pieces = [blob[i : i + 333] for i in range(0, len(blob), 333)]
    return b"".join(decrypt_stream(KEY, pieces, context=context))


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 5 * CHUNK + 17])
def test_round_trip_in_pieces_of_any_size(size: int) -> None:
    data = os.urandom(size)
    blob = _seal(data)
    assert len(blob) == ciphertext_size(size, CHUNK)
    assert _open(blob) == data


def test_ciphertext_bound_to_another_object_does_not_decrypt() -> None:
    blob = _seal(b"x" * 3000)
    with pytest.raises(DecryptionError):
        _open(blob, ("reference", "hld_a", "ref_b"))
    with pytest.raises(DecryptionError):
        _open(blob, ("reference", "hld_b", "ref_a"))


def test_stream_cut_at_a_chunk_boundary_is_detected() -> None:
    blob = _seal(b"y" * (3 * CHUNK))
    first_two = HEADER.size + 2 * (CHUNK + RECORD_OVERHEAD)
    with pytest.raises(DecryptionError):
        _open(blob[:first_two])


def test_swapped_chunks_are_detected() -> None:
    blob = _seal(os.urandom(3 * CHUNK))
    rec = CHUNK + RECORD_OVERHEAD
    h = HEADER.size
    swapped = blob[:h] + blob[h + rec : h + 2 * rec] + blob[h : h + rec] + blob[h + 2 * rec :]
    with pytest.raises(DecryptionError):
        _open(swapped)


def test_flipped_bit_is_detected() -> None:
    blob = bytearray(_seal(b"z" * 2000))
    blob[HEADER.size + 40] ^= 1
    with pytest.raises(DecryptionError):
        _open(bytes(blob))

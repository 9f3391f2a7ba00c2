"""The chunked AES-GCM format (crypto/stream.py), tested directly: it is a pure function."""

from __future__ import annotations

import io
import os

import pytest

from consent_service.crypto.envelope import DecryptionError
from consent_service.crypto.stream import (
    HEADER,
    RECORD_OVERHEAD,
    ciphertext_size,
    decrypt_reader,
    decrypt_stream,
    encrypt_stream,
)

KEY = os.urandom(32)
CONTEXT = ("reference", "hld_a", "ref_a")
CHUNK = 1024


def _seal(data: bytes, context: tuple[str, ...] = CONTEXT) -> bytes:
    return b"".join(encrypt_stream(KEY, [data], context=context, chunk_size=CHUNK))


class _ShortReads(io.BytesIO):
    """A reader that returns fewer bytes than asked, as network bodies may."""

    def read(self, size: int | None = -1, /) -> bytes:
        return super().read(min(size, 700) if size and size > 0 else size)


@pytest.fixture(params=["pieces", "reader"])
def reading(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _open(blob: bytes, context: tuple[str, ...] = CONTEXT, how: str = "pieces") -> bytes:
    if how == "reader":
        return b"".join(decrypt_reader(KEY, _ShortReads(blob).read, context=context))
    pieces = [blob[i : i + 333] for i in range(0, len(blob), 333)]
    return b"".join(decrypt_stream(KEY, pieces, context=context))


@pytest.mark.parametrize("size", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 5 * CHUNK + 17])
def test_round_trip_in_pieces_of_any_size(size: int, reading: str) -> None:
    data = os.urandom(size)
    blob = _seal(data)
    assert len(blob) == ciphertext_size(size, CHUNK)
    assert _open(blob, how=reading) == data


def test_ciphertext_bound_to_another_object_does_not_decrypt(reading: str) -> None:
    blob = _seal(b"x" * 3000)
    with pytest.raises(DecryptionError):
        _open(blob, ("reference", "hld_a", "ref_b"), how=reading)
    with pytest.raises(DecryptionError):
        _open(blob, ("reference", "hld_b", "ref_a"), how=reading)


def test_stream_cut_at_a_chunk_boundary_is_detected(reading: str) -> None:
    blob = _seal(b"y" * (3 * CHUNK))
    first_two = HEADER.size + 2 * (CHUNK + RECORD_OVERHEAD)
    with pytest.raises(DecryptionError):
        _open(blob[:first_two], how=reading)
    with pytest.raises(DecryptionError):
        _open(blob[:-1], how=reading)


def test_swapped_chunks_are_detected(reading: str) -> None:
    blob = _seal(os.urandom(3 * CHUNK))
    rec = CHUNK + RECORD_OVERHEAD
    h = HEADER.size
    swapped = blob[:h] + blob[h + rec : h + 2 * rec] + blob[h : h + rec] + blob[h + 2 * rec :]
    with pytest.raises(DecryptionError):
        _open(swapped, how=reading)


def test_flipped_bit_is_detected(reading: str) -> None:
    blob = bytearray(_seal(b"z" * 2000))
    blob[HEADER.size + 40] ^= 1
    with pytest.raises(DecryptionError):
        _open(bytes(blob), how=reading)


@pytest.mark.parametrize("key", [b"k" * 32, b"long" * 40])
def test_content_hmac_is_rfc_2104_hmac_sha256(tmp_path, key: bytes) -> None:
    import hashlib
    import hmac

    from consent_service.crypto.envelope import keyed_file_digest

    data = os.urandom(3 * 1024 * 1024 + 5)
    path = tmp_path / "content"
    path.write_bytes(data)
    assert (
        keyed_file_digest(key, path, block_size=4099)
        == hmac.new(key, data, hashlib.sha256).hexdigest()
    )

"""Chunked AES-256-GCM for large objects, streaming in both directions.

A reference object (a photo, a voice sample, a video) is encrypted with its own random key in
fixed-size chunks so that neither upload nor download ever holds the whole file in memory.
The construction follows the STREAM scheme (Hoang, Reyhanitabar, Rogaway, Vizár, "Online
Authenticated-Encryption and its Nonce-Reuse Misuse-Resistance", 2015) as used by age and
Tink's streaming AEAD: every chunk is sealed separately, and its associated data carries the
owner context, the chunk index and a final flag, so that

- a ciphertext moved to another object (other holder or object id) fails at its first chunk;
- chunks swapped, dropped or duplicated fail (the index is authenticated);
- a stream cut after any chunk fails (the last chunk read is not marked final).

Layout: header `b"CSV1" || chunk_size (u32 big-endian)`, then records
`nonce (12 random bytes) || AES-GCM(chunk) || tag (16)`; every record but the last holds exactly
`chunk_size` plaintext bytes, the last holds 0..chunk_size bytes. An empty object is one empty
final record.
"""

from __future__ import annotations

import secrets
import struct
from collections.abc import Callable, Iterable, Iterator, Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from consent_service.crypto.envelope import KEY_BYTES, NONCE_BYTES, DecryptionError, aad_for

MAGIC = b"CSV1"
HEADER = struct.Struct(">4sI")
TAG_BYTES = 16
RECORD_OVERHEAD = NONCE_BYTES + TAG_BYTES
DEFAULT_CHUNK_SIZE = 1024 * 1024
MIN_CHUNK_SIZE = 1024
MAX_CHUNK_SIZE = 16 * 1024 * 1024


def ciphertext_size(plaintext_size: int, chunk_size: int = DEFAULT_CHUNK_SIZE) -> int:
    """Stored size of a plaintext of `plaintext_size` bytes."""
    records = max(1, -(-plaintext_size // chunk_size))
    return HEADER.size + plaintext_size + records * RECORD_OVERHEAD


def _chunk_aad(context: Sequence[str], chunk_size: int, index: int, final: bool) -> bytes:
    return aad_for("stream", *context, str(chunk_size), str(index), "final" if final else "more")


def _rechunk(source: Iterable[bytes], size: int) -> Iterator[bytes]:
    """Regroup arbitrary pieces into pieces of exactly `size` bytes, then the remainder."""
    buffer = bytearray()
    for piece in source:
        if not buffer and len(piece) == size:
            yield bytes(piece)  # already the right size: no copy for bytes
            continue
        buffer += piece
        if len(buffer) >= size:
            offset = 0
            with memoryview(buffer) as view:
                while len(buffer) - offset >= size:
                    yield bytes(view[offset : offset + size])
                    offset += size
            del buffer[:offset]
    if buffer:
        yield bytes(buffer)


def encrypt_stream(
    key: bytes,
    source: Iterable[bytes],
    *,
    context: Sequence[str],
    chunk_size: int = DEFAULT_CHUNK_SIZE,
) -> Iterator[bytes]:
    """Encrypt `source` (pieces of any size) to the chunked format, one record at a time.

    `context` names what the object belongs to, e.g. `("reference", holder_id, object_id)`.
    """
    if len(key) != KEY_BYTES:
        raise ValueError("stream key must be 32 bytes")
    if not MIN_CHUNK_SIZE <= chunk_size <= MAX_CHUNK_SIZE:
        raise ValueError("chunk size out of range")
    aead = AESGCM(key)
    yield HEADER.pack(MAGIC, chunk_size)
    pending: bytes | None = None
    index = 0
    # Hold one chunk back: only when the next one arrives (or the source ends) do we know
    # whether it is the final chunk.
    for chunk in _rechunk(source, chunk_size):
        if pending is not None:
            yield _seal(aead, pending, _chunk_aad(context, chunk_size, index, False))
            index += 1
        pending = chunk
    yield _seal(aead, pending or b"", _chunk_aad(context, chunk_size, index, True))


def _seal(aead: AESGCM, chunk: bytes, aad: bytes) -> bytes:
    nonce = secrets.token_bytes(NONCE_BYTES)
    return nonce + aead.encrypt(nonce, chunk, aad)


def decrypt_stream(
    key: bytes, source: Iterable[bytes], *, context: Sequence[str]
) -> Iterator[bytes]:
    """Decrypt the chunked format, yielding plaintext chunks as they authenticate.

    Raises `DecryptionError` at the first chunk that does not authenticate, or at the end if
    the stream stops before its final chunk. Callers that must not release unauthenticated
    output should pull the first chunk before committing to a response (see vault/service.py).
    """
    if len(key) != KEY_BYTES:
        raise ValueError("stream key must be 32 bytes")
    aead = AESGCM(key)
    pieces = iter(source)
    # 1. The header: our magic and a sane chunk size.
    head = bytearray()
    for piece in pieces:
        head += piece
        if len(head) >= HEADER.size:
            break
    if len(head) < HEADER.size:
        raise DecryptionError("not a vault object: header missing")
    magic, chunk_size = HEADER.unpack(bytes(head[: HEADER.size]))
    if magic != MAGIC or not MIN_CHUNK_SIZE <= chunk_size <= MAX_CHUNK_SIZE:
        raise DecryptionError("not a vault object of this version")
    rest = bytes(head[HEADER.size :])

    def remainder() -> Iterator[bytes]:
        if rest:
            yield rest
        yield from pieces

    # 2. Records, each authenticated with its index; the final flag goes on the last one read.
    pending: bytes | None = None
    index = 0
    for record in _rechunk(remainder(), chunk_size + RECORD_OVERHEAD):
        if pending is not None:
            yield _open(aead, pending, _chunk_aad(context, chunk_size, index, False))
            index += 1
        pending = record
    # 3. No record at all, or a last record not sealed as final, means the stream was cut.
    if pending is None:
        raise DecryptionError("vault object truncated: no chunk")
    yield _open(aead, pending, _chunk_aad(context, chunk_size, index, True))


def _read_exact(read: Callable[[int], bytes], size: int) -> bytes:
    """Up to `size` bytes; fewer only at the end of the stream (readers may return short)."""
    first = read(size)
    if len(first) == size or not first:
        return first
    parts = [first]
    got = len(first)
    while got < size:
        more = read(size - got)
        if not more:
            break
        parts.append(more)
        got += len(more)
    return b"".join(parts)


def decrypt_reader(
    key: bytes, read: Callable[[int], bytes], *, context: Sequence[str]
) -> Iterator[bytes]:
    """`decrypt_stream` for a file-like source: reads whole records, so nothing is re-chunked.

    `read(n)` is a file's or an S3 body's `read`. Same checks and errors as `decrypt_stream`.
    """
    if len(key) != KEY_BYTES:
        raise ValueError("stream key must be 32 bytes")
    aead = AESGCM(key)
    # 1. The header: our magic and a sane chunk size.
    head = _read_exact(read, HEADER.size)
    if len(head) < HEADER.size:
        raise DecryptionError("not a vault object: header missing")
    magic, chunk_size = HEADER.unpack(head)
    if magic != MAGIC or not MIN_CHUNK_SIZE <= chunk_size <= MAX_CHUNK_SIZE:
        raise DecryptionError("not a vault object of this version")
    record_size = chunk_size + RECORD_OVERHEAD
    # 2. Read one record ahead: the record before the end of the stream must be sealed final.
    record = _read_exact(read, record_size)
    if not record:
        raise DecryptionError("vault object truncated: no chunk")
    index = 0
    while True:
        following = _read_exact(read, record_size) if len(record) == record_size else b""
        if not following:
            yield _open(aead, record, _chunk_aad(context, chunk_size, index, True))
            return
        yield _open(aead, record, _chunk_aad(context, chunk_size, index, False))
        record = following
        index += 1


def _open(aead: AESGCM, record: bytes, aad: bytes) -> bytes:
    if len(record) < RECORD_OVERHEAD:
        raise DecryptionError("vault object truncated inside a chunk")
    nonce, body = record[:NONCE_BYTES], record[NONCE_BYTES:]
    try:
        return aead.decrypt(nonce, body, aad)
    except InvalidTag as exc:
        raise DecryptionError("vault chunk does not authenticate") from exc

"""Envelope encryption (AES-256-GCM) and the master key that wraps every other key.

Key hierarchy (DESIGN.md, "Keys and cryptography"):

    master key (local file / CONSENT_MASTER_KEY / AWS KMS)
      └─ wraps service keys (blind-index key, signing private keys)
      └─ wraps each holder's data key
            └─ encrypts that holder's personal fields and wraps each reference object's key

Every ciphertext carries associated data that names what it belongs to (record, field, object
id), so a ciphertext copied onto another record fails to decrypt instead of decrypting to the
wrong person's data. Destroying a holder's wrapped data key makes everything under it
unreadable, wherever copies of the ciphertext live (crypto-shredding).

Blob format: version byte 0x01 || 12-byte random nonce || AES-GCM ciphertext and 16-byte tag.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
from pathlib import Path
from typing import Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from consent_service.files import private_directory

KEY_BYTES = 32
NONCE_BYTES = 12
BLOB_VERSION = b"\x01"


class DecryptionError(Exception):
    """A ciphertext did not authenticate: wrong key, wrong record, or altered bytes."""


class MasterKeyError(Exception):
    """The master key is missing, malformed or unusable."""


def generate_key() -> bytes:
    """A fresh random 256-bit key."""
    return secrets.token_bytes(KEY_BYTES)


def encrypt(key: bytes, plaintext: bytes, *, aad: bytes) -> bytes:
    """Encrypt `plaintext` under `key`, binding it to `aad` (what the ciphertext belongs to)."""
    nonce = secrets.token_bytes(NONCE_BYTES)
    return BLOB_VERSION + nonce + AESGCM(key).encrypt(nonce, plaintext, aad)


def decrypt(key: bytes, blob: bytes, *, aad: bytes) -> bytes:
    """Decrypt a blob made by `encrypt`; raise `DecryptionError` if anything does not match."""
    # 1. The blob must have our version byte and room for a nonce and a tag.
    if len(blob) < 1 + NONCE_BYTES + 16 or blob[:1] != BLOB_VERSION:
        raise DecryptionError("not a ciphertext of this service")
    # 2. AES-GCM authenticates key, nonce, ciphertext and associated data together.
    nonce, body = blob[1 : 1 + NONCE_BYTES], blob[1 + NONCE_BYTES :]
    try:
        return AESGCM(key).decrypt(nonce, body, aad)
    except InvalidTag as exc:
        raise DecryptionError("ciphertext does not authenticate") from exc


def aad_for(*parts: str) -> bytes:
    """Associated data from labelled parts, unambiguous because parts cannot contain NUL."""
    if any("\x00" in part for part in parts):
        raise ValueError("associated-data parts must not contain NUL")
    return "\x00".join(("consent-service/v1", *parts)).encode("utf-8")


def blind_index(key: bytes, value: str) -> str:
    """Keyed HMAC-SHA256 of a normalised value: lets us find a row by email without storing it."""
    return hmac.new(key, value.strip().casefold().encode("utf-8"), hashlib.sha256).hexdigest()


def keyed_digest(key: bytes, data: bytes) -> str:
    """Keyed HMAC-SHA256 of arbitrary bytes (duplicate detection, evidence hashes)."""
    return hmac.new(key, data, hashlib.sha256).hexdigest()


def keyed_file_digest(key: bytes, path: Path, *, block_size: int = 1 << 20) -> str:
    """HMAC-SHA256 (RFC 2104) of a file's bytes, equal to `keyed_digest(key, contents)`.

    Built on hashlib rather than `hmac.new`: `hashlib.sha256().update` releases the GIL for
    large blocks (`hmac`'s update does not), so hashing a large upload in a worker thread
    overlaps its encryption.
    """
    hmac_block = 64  # SHA-256 block size
    if len(key) > hmac_block:
        key = hashlib.sha256(key).digest()
    key = key.ljust(hmac_block, b"\x00")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
    with open(path, "rb") as fh:
        while block := fh.read(block_size):
            inner.update(block)
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))
    outer.update(inner.digest())
    return outer.hexdigest()


class MasterKey(Protocol):
    """Wraps and unwraps other keys. Implemented locally and by AWS KMS."""

    def wrap(self, key: bytes, *, context: str) -> bytes: ...

    def unwrap(self, wrapped: bytes, *, context: str) -> bytes: ...


class LocalMasterKey:
    """A 256-bit master key held in process memory (from a key file or the environment)."""

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise MasterKeyError("the master key must be exactly 32 bytes")
        self._key = key

    def wrap(self, key: bytes, *, context: str) -> bytes:
        """Wrap a key for storage; `context` names the key's owner and purpose."""
        return encrypt(self._key, key, aad=aad_for("wrap", context))

    def unwrap(self, wrapped: bytes, *, context: str) -> bytes:
        """Unwrap a key wrapped with the same `context`."""
        return decrypt(self._key, wrapped, aad=aad_for("wrap", context))


def parse_master_key(text: str) -> bytes:
    """Decode a master key given as standard or URL-safe base64 of 32 bytes."""
    cleaned = text.strip()
    padded = cleaned + "=" * (-len(cleaned) % 4)
    for decoder in (base64.b64decode, base64.urlsafe_b64decode):
        try:
            raw = decoder(padded.encode("ascii"))
        except (binascii.Error, ValueError, UnicodeEncodeError):
            continue
        if len(raw) == KEY_BYTES:
            return raw
    raise MasterKeyError("CONSENT_MASTER_KEY must be base64 of exactly 32 random bytes")


def load_or_create_key_file(path: Path) -> bytes:
    """Read the development key file, creating it (mode 0600) on first run."""
    if path.exists():
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            raise MasterKeyError(f"{path} is readable by others (mode {mode:o}); chmod 600 it")
        return parse_master_key(path.read_text(encoding="ascii"))
    private_directory(path.parent)
    key = generate_key()
    # O_EXCL: two processes starting at once must not both write a different key.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return load_or_create_key_file(path)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(base64.b64encode(key).decode("ascii") + "\n")
        fh.flush()
        os.fsync(fh.fileno())
    return key

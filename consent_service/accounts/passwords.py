"""Password hashing with argon2id (argon2-cffi, RFC 9106 parameters).

The cost is set once at start-up from the settings (`configure`); tests lower it, production
keeps the RFC 9106 "second recommended option" defaults of argon2-cffi.
"""

from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
# Verified against when the email is unknown, so that both failures cost one argon2 verify.
_dummy_hash = _hasher.hash("not-a-real-password: timing equaliser")


def configure(*, time_cost: int, memory_cost_kib: int) -> None:
    global _hasher, _dummy_hash
    if (_hasher.time_cost, _hasher.memory_cost) == (time_cost, memory_cost_kib):
        return
    _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost_kib)
    _dummy_hash = _hasher.hash("not-a-real-password: timing equaliser")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches; with no hash, spend the same time and return False."""
    try:
        return _hasher.verify(password_hash or _dummy_hash, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False

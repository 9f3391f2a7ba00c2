"""Password hashing with argon2id (argon2-cffi, RFC 9106 parameters).

The cost is set once at start-up from the settings (`configure`); tests lower it, production
keeps the RFC 9106 "second recommended option" defaults of argon2-cffi.

Anyone may make the service run argon2 (a sign-in with a wrong password), and at production
cost one run takes 64 MiB and tens of milliseconds of every core it gets. So hashing runs on a
small pool of its own (`workers` threads, at most that many hashes and that much memory at
once), at a lower CPU priority (nice +10, a per-thread attribute on Linux that argon2's lane
threads inherit): a flood of sign-ins then waits for the pool instead of taking the cores the
other requests need. Callers must hold no database transaction while they wait (see
accounts.service.issue_access_token and the registration routes).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

HASHING_NICENESS = 10


def _lower_priority() -> None:
    try:
        os.setpriority(os.PRIO_PROCESS, 0, HASHING_NICENESS)  # this thread only, on Linux
    except (AttributeError, OSError):  # not Linux, or not allowed: run at normal priority
        pass


def _new_pool(workers: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(
        max_workers=workers, thread_name_prefix="argon2", initializer=_lower_priority
    )


_workers = 2
_pool = _new_pool(_workers)
_hasher = PasswordHasher()
# Verified against when the email is unknown, so that both failures cost one argon2 verify.
_dummy_hash = _hasher.hash("not-a-real-password: timing equaliser")


def configure(*, time_cost: int, memory_cost_kib: int, workers: int = 2) -> None:
    global _hasher, _dummy_hash, _pool, _workers
    if workers != _workers:
        old, _pool, _workers = _pool, _new_pool(workers), workers
        old.shutdown(wait=False)
    if (_hasher.time_cost, _hasher.memory_cost) == (time_cost, memory_cost_kib):
        return
    _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost_kib)
    _dummy_hash = _hasher.hash("not-a-real-password: timing equaliser")


def hash_password(password: str) -> str:
    return _pool.submit(_hasher.hash, password).result()


def _verify(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _dummy_hash, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches; with no hash, spend the same time and return False."""
    return _pool.submit(_verify, password_hash, password).result()

"""A token bucket per client address, in process memory.

Used for `POST /v1/licences/verify`, which anyone may call without a credential, for
password sign-in (`check_login_rate`) and for self-registration (`check_registration_rate`).
Each replica keeps its own buckets, so N replicas admit up to N times the limit in total; a
shared limit belongs in the load balancer or gateway in front of them (docs/studios.md says so).
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass

from consent_service.errors import RateLimited

_MAX_TRACKED = 10_000


class RateLimiter:
    def __init__(self, per_minute: int) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0  # tokens per second
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, updated)
        self._lock = threading.Lock()

    def acquire(self, key: str) -> float | None:
        """Take one token for `key`; None when allowed, else seconds until one is available."""
        now = time.monotonic()
        with self._lock:
            tokens, updated = self._buckets.get(key, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - updated) * self.rate)
            if tokens < 1.0:
                self._buckets[key] = (tokens, now)
                return (1.0 - tokens) / self.rate
            self._buckets[key] = (tokens - 1.0, now)
            if len(self._buckets) > _MAX_TRACKED:
                self._forget_full_buckets(now)
            return None

    def _forget_full_buckets(self, now: float) -> None:
        # A bucket that has refilled completely is the same as no bucket at all.
        refill = self.capacity / self.rate
        for key, (_tokens, updated) in list(self._buckets.items()):
            if now - updated >= refill:
                del self._buckets[key]
        if len(self._buckets) > _MAX_TRACKED:  # under a flood of addresses: start afresh
            self._buckets.clear()


@dataclass(frozen=True, slots=True)
class LoginRateLimiters:
    """Password sign-in throttles: one bucket per client address, one per account."""

    by_address: RateLimiter
    by_account: RateLimiter


def check_login_rate(limiters: LoginRateLimiters, *, address: str, email: str) -> None:
    """Throttle password attempts per client address and per account; `RateLimited` past it.

    Two buckets, so that neither one address trying many accounts nor many addresses trying
    one account get more than their limit of guesses a minute (per replica). Known and unknown
    emails are throttled alike, so a 429 reveals nothing about who is registered. The email is
    kept only as a hash, and only in memory.
    """
    account = hashlib.sha256(email.strip().casefold().encode("utf-8")).hexdigest()
    waits = [limiters.by_address.acquire(address), limiters.by_account.acquire(account)]
    retry_after = max((w for w in waits if w is not None), default=None)
    if retry_after is not None:
        raise RateLimited(
            "Too many sign-in attempts; wait a minute and try again",
            retry_after_seconds=max(1, round(retry_after)),
        )


def check_registration_rate(limiter: RateLimiter, *, address: str) -> None:
    """Throttle self-registration per client address; `RateLimited` past it.

    Taken before anything else is looked at, so new and already registered emails use the
    same bucket: the limit caps how fast one address can create accounts and how fast it can
    probe which emails are registered.
    """
    retry_after = limiter.acquire(address)
    if retry_after is not None:
        raise RateLimited(
            "Too many registrations from this address; wait a minute and try again",
            retry_after_seconds=max(1, round(retry_after)),
        )

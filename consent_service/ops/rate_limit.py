"""A token bucket per client address: in process memory, or in Redis shared by all replicas.

Used for `POST /v1/licences/verify`, which anyone may call without a credential, for
password sign-in (`check_login_rate`) and for self-registration (`check_registration_rate`).
Without `CONSENT_REDIS_URL` each replica keeps its own buckets (`RateLimiter`), so N replicas
admit up to N times the limit in total. With it, every replica takes its tokens from the same
buckets in Redis (`RedisRateLimiter`), so the limit holds for the whole deployment.
"""

from __future__ import annotations

import hashlib
import logging
import math
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from consent_service.errors import RateLimited

if TYPE_CHECKING:
    import redis

log = logging.getLogger("consent_service.rate_limit")

_MAX_TRACKED = 10_000


class Limiter(Protocol):
    def acquire(self, key: str) -> float | None: ...


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


# One token bucket, refilled by elapsed time, taken atomically inside Redis: the script runs
# alone, and it reads Redis's own clock, so replicas with skewed clocks agree.
_TOKEN_BUCKET = """
local capacity = tonumber(ARGV[1])
local rate = tonumber(ARGV[2])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local state = redis.call('HMGET', KEYS[1], 'tokens', 'updated')
local tokens = tonumber(state[1]) or capacity
local updated = tonumber(state[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - updated) * rate)
local wait = 0
if tokens < 1 then
  wait = (1 - tokens) / rate
else
  tokens = tokens - 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'updated', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(capacity / rate) + 1)
return tostring(wait)
"""


class RedisRateLimiter:
    """The same token bucket as `RateLimiter`, kept in Redis so that all replicas share it.

    Keys are `consent:rl:<name>:<sha256 of the key>`: no client address or email is stored in
    Redis, and a bucket expires once it would have refilled. If Redis cannot be reached the
    limiter falls back to this process's own bucket (logged), so an outage of Redis weakens the
    limit to per replica instead of taking sign-in and verification down with it.
    """

    def __init__(self, client: redis.Redis, name: str, per_minute: int) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self._prefix = f"consent:rl:{name}:"
        self._script = client.register_script(_TOKEN_BUCKET)
        self._fallback = RateLimiter(per_minute)

    def acquire(self, key: str) -> float | None:
        import redis

        digest = hashlib.sha256(key.encode("utf-8")).hexdigest()
        try:
            wait = float(
                self._script(keys=[self._prefix + digest], args=[self.capacity, self.rate])
            )
        except redis.RedisError as exc:
            log.warning(
                "rate limit: Redis unavailable (%s); using this process's bucket",
                type(exc).__name__,
            )
            return self._fallback.acquire(key)
        return None if wait <= 0 or math.isnan(wait) else wait


@dataclass(frozen=True, slots=True)
class LoginRateLimiters:
    """Password sign-in throttles: one bucket per client address, one per account."""

    by_address: Limiter
    by_account: Limiter


def check_login_rate(limiters: LoginRateLimiters, *, address: str, email: str) -> None:
    """Throttle password attempts per client address and per account; `RateLimited` past it.

    Two buckets, so that neither one address trying many accounts nor many addresses trying
    one account get more than their limit of guesses a minute (per replica, or in all with
    Redis). Known and unknown emails are throttled alike, so a 429 reveals nothing about who is
    registered. The email is kept only as a hash.
    """
    account = hashlib.sha256(email.strip().casefold().encode("utf-8")).hexdigest()
    waits = [limiters.by_address.acquire(address), limiters.by_account.acquire(account)]
    retry_after = max((w for w in waits if w is not None), default=None)
    if retry_after is not None:
        raise RateLimited(
            "Too many sign-in attempts; wait a minute and try again",
            retry_after_seconds=max(1, round(retry_after)),
        )


def check_registration_rate(limiter: Limiter, *, address: str) -> None:
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

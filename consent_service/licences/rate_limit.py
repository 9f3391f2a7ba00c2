"""A token bucket per client address, in process memory.

Used for `POST /v1/licences/verify`, which anyone may call without a credential. Each replica
keeps its own buckets, so N replicas admit up to N times the limit in total; a shared limit
belongs in the load balancer or gateway in front of them (docs/studios.md says so).
"""

from __future__ import annotations

import threading
import time

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

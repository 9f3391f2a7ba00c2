"""The Redis token bucket against the machine's Redis, and its fallback when Redis is down."""

from __future__ import annotations

import secrets

import pytest
import redis

from consent_service.ops.rate_limit import RedisRateLimiter
from tests.ops.replicas import REDIS_URL, free_port


def test_limiters_on_one_redis_share_their_buckets():
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:  # pragma: no cover - the test machine has Redis
        pytest.skip(f"no Redis at {REDIS_URL}: {exc}")
    name = f"test-{secrets.token_hex(4)}"
    one, two = RedisRateLimiter(client, name, 3), RedisRateLimiter(client, name, 3)
    waits = [limiter.acquire("198.51.100.1") for limiter in (one, two, one)]
    assert waits == [None, None, None]
    wait = two.acquire("198.51.100.1")
    assert wait is not None and 0 < wait <= 20  # one token comes back every 20 s at 3/min
    assert one.acquire("198.51.100.2") is None  # another client has its own bucket
    # Only hashes reach Redis: no client address appears in a key.
    keys = [k.decode() for k in client.scan_iter(match=f"consent:rl:{name}:*")]
    assert len(keys) == 2 and not any("198.51.100" in k for k in keys)


def test_an_unreachable_redis_falls_back_to_the_process_bucket():
    client = redis.Redis.from_url(
        f"redis://127.0.0.1:{free_port()}/0", socket_timeout=0.5, socket_connect_timeout=0.5
    )
    limiter = RedisRateLimiter(client, "fallback", 2)
    assert [limiter.acquire("203.0.113.9") for _ in range(2)] == [None, None]
    assert limiter.acquire("203.0.113.9") is not None

"""Two replicas (two `consent-service serve` processes) on one database and one Redis.

They show one verify rate limit between them, and a withdrawal made through one is seen at once
by verification on the other. Redis is the machine's (CONSENT_TEST_REDIS_URL, default
redis://127.0.0.1:6379/0); the keys it gets are hashes of a random client address, so runs do
not meet.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from consent_service.config import Settings
from tests.licences.conftest import Grant
from tests.ops.replicas import REDIS_URL, replica_env, serve

LIMIT = 4


def _redis_or_skip() -> None:
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:  # pragma: no cover - the test machine has Redis
        pytest.skip(f"no Redis at {REDIS_URL}: {exc}")


def _client_address() -> str:
    # The replicas trust X-Forwarded-For from 127.0.0.1 (the default), so the test plays
    # clients with addresses of its own choosing, fresh for every run.
    return "10." + ".".join(str(b) for b in secrets.token_bytes(3))


def _verify(base: str, token: str, address: str) -> httpx.Response:
    return httpx.post(
        f"{base}/v1/licences/verify",
        json={"token": token},
        headers={"X-Forwarded-For": address},
        timeout=30,
    )


def test_two_replicas_share_one_limit_and_see_a_withdrawal_at_once(
    settings: Settings,
    grant: Grant,
    issue: Callable[..., dict[str, Any]],
    tmp_path: Path,
):
    _redis_or_skip()
    licence = issue(grant)
    env = replica_env(
        settings, CONSENT_REDIS_URL=REDIS_URL, CONSENT_VERIFY_RATE_LIMIT_PER_MINUTE=str(LIMIT)
    )
    with ExitStack() as stack:
        a = stack.enter_context(serve(env, tmp_path / "a.log"))
        b = stack.enter_context(serve(env, tmp_path / "b.log"))
        assert httpx.get(f"{a}/readyz", timeout=30).status_code == 200

        # One client, alternating between the replicas: LIMIT verifications in all, not each.
        client = _client_address()
        statuses = [_verify(base, licence["token"], client).status_code for base in (a, b) * 2]
        assert statuses == [200] * LIMIT, statuses
        for base in (a, b):
            refused = _verify(base, licence["token"], client)
            assert refused.status_code == 429, refused.text
            assert refused.json()["code"] == "rate_limited"
            assert int(refused.headers["retry-after"]) >= 1

        # A withdrawal through replica A; replica B's very next verification says so.
        other = _client_address()
        assert _verify(b, licence["token"], other).json()["code"] == "VALID"
        r = httpx.post(
            f"{a}/v1/consents/{grant.id}/withdraw",
            json={},
            headers=grant.holder.headers,
            timeout=30,
        )
        assert r.status_code == 200, r.text
        assert _verify(b, licence["token"], other).json()["code"] == "REVOKED"


def test_without_redis_each_replica_keeps_its_own_limit(
    settings: Settings, grant: Grant, issue: Callable[..., dict[str, Any]], tmp_path: Path
):
    # The documented default: in process, so two replicas admit twice the limit in total.
    licence = issue(grant)
    env = replica_env(settings, CONSENT_VERIFY_RATE_LIMIT_PER_MINUTE=str(LIMIT))
    with ExitStack() as stack:
        a = stack.enter_context(serve(env, tmp_path / "a.log"))
        b = stack.enter_context(serve(env, tmp_path / "b.log"))
        client = _client_address()
        statuses = [_verify(base, licence["token"], client).status_code for base in (a, b) * LIMIT]
        assert statuses == [200] * 2 * LIMIT, statuses
        assert _verify(a, licence["token"], client).status_code == 429

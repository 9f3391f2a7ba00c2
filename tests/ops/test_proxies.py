"""Client addresses behind a proxy: X-Forwarded-For is believed from trusted peers only.

A real `consent-service serve` (uvicorn) on loopback, reached from different loopback source
addresses: 127.0.0.2 plays the proxy named in CONSENT_FORWARDED_ALLOW_IPS, 127.0.0.3 a client
that is not a proxy and tries to choose its own address.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from consent_service.config import Settings
from tests.ops.replicas import replica_env, serve

LIMIT = 3


def _sign_in(base: str, peer: str, forwarded_for: str, n: int) -> int:
    transport = httpx.HTTPTransport(local_address=peer)
    with httpx.Client(base_url=base, transport=transport, timeout=30) as http:
        r = http.post(
            "/v1/auth/token",
            data={
                "grant_type": "password",
                "username": f"nobody{n}@example.org",
                "password": "wrong password",
            },
            headers={"X-Forwarded-For": forwarded_for},
        )
        return r.status_code


def test_a_trusted_proxy_gives_each_client_its_own_throttle(settings: Settings, tmp_path: Path):
    env = replica_env(
        settings,
        CONSENT_FORWARDED_ALLOW_IPS="127.0.0.2",
        CONSENT_LOGIN_ATTEMPTS_PER_MINUTE=str(LIMIT),
    )
    with serve(env, tmp_path / "replica.log") as base:
        # Behind the trusted proxy: twice the limit of attempts, each client its own address,
        # and none is throttled (12 users behind one proxy no longer share one bucket).
        statuses = [
            _sign_in(base, "127.0.0.2", f"203.0.113.{n}", n) for n in range(1, 2 * LIMIT + 1)
        ]
        assert 429 not in statuses, statuses
        # One client behind the proxy still has its own limit.
        statuses = [_sign_in(base, "127.0.0.2", "198.51.100.7", 100 + n) for n in range(LIMIT + 1)]
        assert statuses[-1] == 429 and 429 not in statuses[:-1], statuses
        # A peer that is not a trusted proxy cannot pick its address: its header is ignored,
        # and all its attempts share the bucket of its own address.
        statuses = [_sign_in(base, "127.0.0.3", f"192.0.2.{n}", 200 + n) for n in range(LIMIT + 1)]
        assert statuses[-1] == 429 and 429 not in statuses[:-1], statuses

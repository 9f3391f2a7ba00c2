"""Concurrent issuance racing a withdrawal, over real HTTP with real concurrency."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.licences.conftest import Grant, licence_scope
from tests.reliability.harness import race_round

# 50 rounds, each a fresh grant raced by ISSUERS clients while its holder withdraws it (the
# issue's bound for CI); `bench/reliability.py --races N` runs the same round N times.
ROUNDS = 50
ISSUERS = 12
PER_ISSUER = 2


@pytest.mark.postgresql
@pytest.mark.timeout(900)
def test_no_licence_is_valid_after_a_withdrawal_that_raced_its_issuance(
    live_server: str, make_grant: Callable[..., Grant]
):
    outcomes = []
    for _ in range(ROUNDS):
        grant = make_grant()
        outcome = race_round(
            live_server,
            studio=grant.studio.headers,
            holder=grant.holder.headers,
            grant_id=grant.id,
            issuers=ISSUERS,
            per_issuer=PER_ISSUER,
        )
        assert outcome.problems == [], outcome.problems[:5]
        assert outcome.valid_after == 0
        outcomes.append(outcome)
    # The races were real: across the rounds some issuances won and some lost.
    assert sum(o.issued for o in outcomes) > 0
    assert sum(o.refused for o in outcomes) > 0


def test_concurrent_issuance_never_shares_a_status_index(live_server: str, grant: Grant):
    body = {"consent_id": grant.id, "scope": licence_scope()}
    start = threading.Barrier(8)

    def issue_some() -> list[dict[str, Any]]:
        out = []
        with httpx.Client(base_url=live_server, timeout=60) as http:
            start.wait()
            for _ in range(4):
                r = http.post("/v1/licences", json=body, headers=grant.studio.headers)
                assert r.status_code == 201, r.text
                out.append(r.json())
        return out

    with ThreadPoolExecutor(max_workers=8) as pool:
        issued = [i for f in [pool.submit(issue_some) for _ in range(8)] for i in f.result()]
    slots = {(i["status_list"]["uri"], i["status_list"]["idx"]) for i in issued}
    assert len(issued) == 32 and len(slots) == 32

"""Concurrent issuance racing a withdrawal, over real HTTP with real concurrency."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from tests.licences.conftest import Grant, licence_scope

ISSUERS = 24
PER_ISSUER = 3


@pytest.mark.postgresql
def test_no_licence_is_valid_after_a_withdrawal_that_raced_its_issuance(
    live_server: str, grant: Grant
):
    start = threading.Barrier(ISSUERS + 1)
    body = {"consent_id": grant.id, "scope": licence_scope()}

    def issue_some() -> list[httpx.Response]:
        responses = []
        with httpx.Client(base_url=live_server, timeout=60) as http:
            start.wait()
            for _ in range(PER_ISSUER):
                responses.append(http.post("/v1/licences", json=body, headers=grant.studio.headers))
        return responses

    def withdraw() -> httpx.Response:
        with httpx.Client(base_url=live_server, timeout=60) as http:
            start.wait()
            # Let a few issuances in first, so that the withdrawal lands in the middle.
            http.get("/healthz")
            return http.post(
                f"/v1/consents/{grant.id}/withdraw", json={}, headers=grant.holder.headers
            )

    with ThreadPoolExecutor(max_workers=ISSUERS + 1) as pool:
        issuing = [pool.submit(issue_some) for _ in range(ISSUERS)]
        withdraw_future = pool.submit(withdraw)
        results = [r for f in issuing for r in f.result()]
        withdrawal = withdraw_future.result()

    assert withdrawal.status_code == 200, withdrawal.text
    statuses = [r.status_code for r in results]
    assert set(statuses) <= {201, 409}, [r.text for r in results if r.status_code not in (201, 409)]
    assert all(r.json()["code"] == "consent_not_active" for r in results if r.status_code == 409)
    issued: list[dict[str, Any]] = [r.json() for r in results if r.status_code == 201]

    # Every licence issued before the withdrawal was revoked by it, in the same transaction.
    assert sorted(withdrawal.json()["revoked_licences"]) == sorted(i["id"] for i in issued)
    slots = {(i["status_list"]["uri"], i["status_list"]["idx"]) for i in issued}
    assert len(slots) == len(issued)
    assert len({i["status_list"]["idx"] for i in issued}) == len(issued)
    with httpx.Client(base_url=live_server, timeout=60) as http:
        for licence in issued:
            verdict = http.post("/v1/licences/verify", json={"token": licence["token"]}).json()
            assert verdict["code"] == "REVOKED", verdict


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

"""Usage batches racing a withdrawal, over real HTTP with real concurrency."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from fastapi.testclient import TestClient

from tests.conftest import Org
from tests.licences.conftest import Grant
from tests.usages.conftest import usage
from tests.usages.test_usages import audit_events

RECORDERS = 8
BATCH = 50
MAX_BATCHES = 40


def test_no_usage_is_accepted_after_a_withdrawal_that_raced_the_batches(
    live_server: str, client: TestClient, grant: Grant, issue: Any, auditor: Org
):
    licence = issue(grant)
    url = f"/v1/licences/{licence['id']}/usages"
    start = threading.Barrier(RECORDERS + 1)

    def record_until_refused() -> list[httpx.Response]:
        responses = []
        with httpx.Client(base_url=live_server, timeout=120) as http:
            start.wait()
            for _ in range(MAX_BATCHES):
                batch = {"usages": [usage() for _ in range(BATCH)]}
                r = http.post(url, json=batch, headers=grant.studio.headers)
                responses.append(r)
                if r.status_code != 201:
                    break
        return responses

    def withdraw() -> httpx.Response:
        with httpx.Client(base_url=live_server, timeout=120) as http:
            start.wait()
            # Let some batches in first, so that the withdrawal lands among them.
            for _ in range(3):
                http.get("/healthz")
            return http.post(
                f"/v1/consents/{grant.id}/withdraw", json={}, headers=grant.holder.headers
            )

    with ThreadPoolExecutor(max_workers=RECORDERS + 1) as pool:
        recording = [pool.submit(record_until_refused) for _ in range(RECORDERS)]
        withdrawal = pool.submit(withdraw).result()
        results = [r for f in recording for r in f.result()]

    assert withdrawal.status_code == 200, withdrawal.text
    assert licence["id"] in withdrawal.json()["revoked_licences"]
    refused = [r for r in results if r.status_code != 201]
    # Every recorder was stopped by the withdrawal, with the verifier's code, nothing else.
    assert len(refused) == RECORDERS, [r.text for r in refused]
    assert all(r.status_code == 422 and r.json()["verdict"] == "REVOKED" for r in refused)
    accepted = [u for r in results if r.status_code == 201 for u in r.json()["usages"]]

    # The log orders commits: every accepted usage was committed before the withdrawal.
    events = audit_events(client, auditor)
    [withdrawn_seq] = [
        e["seq"]
        for e in events
        if e["event"]["action"] == "consent.withdrawn"
        and e["event"]["subjects"]["consent_id"] == grant.id
    ]
    usage_seqs = [e["seq"] for e in events if e["event"]["action"] == "usage.recorded"]
    assert sorted(usage_seqs) == sorted(u["audit_seq"] for u in accepted)
    assert all(seq < withdrawn_seq for seq in usage_seqs)
    # Each batch's events are consecutive, and the log has no gap anywhere.
    assert [e["seq"] for e in events] == list(range(len(events)))
    for r in results:
        if r.status_code == 201:
            seqs = [u["audit_seq"] for u in r.json()["usages"]]
            assert seqs == list(range(seqs[0], seqs[0] + BATCH))
    # What was recorded is exactly what was accepted.
    listed, cursor = [], None
    while True:
        params: dict[str, Any] = {"limit": 200, **({"cursor": cursor} if cursor else {})}
        page = client.get(url, params=params, headers=grant.studio.headers).json()
        listed += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(u["id"] for u in listed) == sorted(u["id"] for u in accepted)

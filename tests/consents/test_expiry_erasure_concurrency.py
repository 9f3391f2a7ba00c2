"""Expiry (sweep, read, CLI), withdrawal for erasure, and a concurrent double accept."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from consent_service.consents import lifecycle
from consent_service.main import create_app
from tests.consents.conftest import accept, ask, signature


def test_sweep_expires_grants_past_their_end_and_tells_the_listeners(
    client: TestClient, app, db_session: Session, holder, studio, grant, listener_calls
):
    cid = grant["consent"]["id"]
    end = datetime.fromisoformat(grant["consent"]["valid_until"])
    signer = app.state.services.signer
    assert (
        lifecycle.expire_due_grants(db_session, signer=signer, now=end - timedelta(seconds=1)) == []
    )
    expired = lifecycle.expire_due_grants(db_session, signer=signer, now=end + timedelta(seconds=1))
    db_session.commit()
    assert expired == [cid]
    assert [(c.old_status, c.new_status, c.actor_id) for c in listener_calls] == [
        ("active", "expired", "system")
    ]
    got = client.get(f"/v1/consents/{cid}", headers=studio.headers).json()
    assert got["status"] == "expired"
    r = client.post(f"/v1/consents/{cid}/withdraw", headers=holder.headers)
    assert r.status_code == 409 and r.json()["code"] == "consent_not_active"
    receipt = client.get(f"/v1/consents/{cid}/receipt", headers=holder.headers).json()
    assert receipt["consent_state"] == "expired"
    assert lifecycle.expire_due_grants(db_session, signer=signer, now=end + timedelta(days=1)) == []
    db_session.rollback()


def test_reads_show_expiry_without_writing_and_the_cli_records_it(
    client: TestClient, app, settings, master_key, holder, studio
):
    soon = (datetime.now(UTC) + timedelta(seconds=3)).strftime("%Y-%m-%dT%H:%M:%SZ")
    consents = []
    start = (datetime.now(UTC) - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    for _ in range(2):
        req = ask(client, studio, holder.id, valid_from=start, valid_until=soon).json()
        r = accept(client, holder.headers, req)
        assert r.status_code == 201, r.text
        consents.append(r.json()["consent"]["id"])
    while datetime.now(UTC) <= datetime.fromisoformat(soon.replace("Z", "+00:00")):
        time.sleep(0.2)

    # Read path: the grant reads as expired without any sweep having run, and the read
    # wrote nothing: no receipt was signed for the expiry, and listing by status agrees.
    by_read, other = consents
    got = client.get(f"/v1/consents/{by_read}", headers=holder.headers).json()
    assert got["status"] == "expired"
    assert got["status_changed_at"] == got["valid_until"]
    receipt = client.get(f"/v1/consents/{by_read}/receipt", headers=holder.headers).json()
    assert receipt["consent_state"] == "active"
    listed = client.get("/v1/consents?status=active", headers=holder.headers).json()["items"]
    assert {c["id"] for c in listed}.isdisjoint(consents)
    listed = client.get("/v1/consents?status=expired", headers=holder.headers).json()["items"]
    assert {c["id"] for c in listed} >= set(consents)
    # Operator path: `consent-service consents expire` records both.
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONSENT_")}
    env.update(
        {
            "CONSENT_DATA_DIR": str(settings.data_dir),
            "CONSENT_DATABASE_URL": settings.resolved_database_url,
            "CONSENT_MASTER_KEY": master_key,
            "CONSENT_ISSUER": settings.issuer,
        }
    )
    result = subprocess.run(
        [sys.executable, "-m", "consent_service.cli", "consents", "expire"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert sorted(result.stdout.split()) == sorted(consents)
    assert client.get(f"/v1/consents/{other}", headers=studio.headers).json()["status"] == (
        "expired"
    )
    receipt = client.get(f"/v1/consents/{by_read}/receipt", headers=holder.headers).json()
    assert receipt["consent_state"] == "expired"


def test_erasure_withdraws_every_open_grant_and_refuses_new_requests(
    client: TestClient, holder, studio, request_consent, grant
):
    first = grant["consent"]["id"]
    second = accept(client, holder.headers, request_consent(holder.id)).json()["consent"]["id"]
    client.post(f"/v1/consents/{second}/suspend", headers=holder.headers)
    third = accept(client, holder.headers, request_consent(holder.id)).json()["consent"]["id"]
    client.post(f"/v1/consents/{third}/withdraw", headers=holder.headers)
    pending = request_consent(holder.id)

    r = client.delete(f"/v1/holders/{holder.id}", headers=holder.headers)
    assert r.status_code == 200, r.text
    # The active and the suspended grant are withdrawn by the erasure; the one withdrawn
    # before stays withdrawn.
    for cid in (first, second, third):
        got = client.get(f"/v1/consents/{cid}", headers=studio.headers)
        assert got.status_code == 200 and got.json()["status"] == "withdrawn", cid
    r = ask(client, studio, holder.id)
    assert r.status_code == 404 and r.json()["code"] == "holder_erased"
    r = client.post(
        f"/v1/consent-requests/{pending['id']}/accept",
        json={"notice_sha256": pending["notice"]["sha256"], "signature": signature()},
        headers=holder.headers,
    )
    assert r.status_code in (401, 404)  # the erased holder's login no longer resolves


@pytest.mark.postgresql
def test_concurrent_double_accept_yields_exactly_one_grant(live_server, client, holder, studio):
    req = ask(client, studio, holder.id).json()
    body = {"notice_sha256": req["notice"]["sha256"], "signature": signature()}
    barrier = threading.Barrier(4)
    results: list[int] = []

    def accept_once() -> None:
        with httpx.Client(base_url=live_server, headers=holder.headers, timeout=30) as http:
            barrier.wait()
            results.append(
                http.post(f"/v1/consent-requests/{req['id']}/accept", json=body).status_code
            )

    threads = [threading.Thread(target=accept_once) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == [201, 409, 409, 409]
    grants = client.get("/v1/consents", headers=holder.headers).json()["items"]
    assert len(grants) == 1 and grants[0]["request_id"] == req["id"]


def test_serve_sweeps_due_expiries_on_a_timer_and_stops_with_the_app(
    client: TestClient, settings, holder, studio
):
    start = (datetime.now(UTC) - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    soon = (datetime.now(UTC) + timedelta(seconds=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    req = ask(client, studio, holder.id, valid_from=start, valid_until=soon).json()
    cid = accept(client, holder.headers, req).json()["consent"]["id"]
    timed = create_app(settings.model_copy(update={"expiry_sweep_seconds": 0.2}))
    try:
        with TestClient(timed):
            sweeper = timed.state.expiry_sweeper
            assert sweeper.running
            deadline = time.monotonic() + 30
            state = "active"
            while state != "expired" and time.monotonic() < deadline:
                time.sleep(0.2)
                receipt = client.get(f"/v1/consents/{cid}/receipt", headers=holder.headers)
                state = receipt.json()["consent_state"]
            # The timer recorded it: a signed receipt for the expiry, by the system.
            assert state == "expired"
        assert not sweeper.running  # the lifespan's end stopped the thread
    finally:
        timed.state.services.close()


def test_a_status_change_on_a_grant_past_its_end_is_refused_as_expired(
    client: TestClient, holder, studio
):
    start = (datetime.now(UTC) - timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    soon = (datetime.now(UTC) + timedelta(seconds=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    req = ask(client, studio, holder.id, valid_from=start, valid_until=soon).json()
    cid = accept(client, holder.headers, req).json()["consent"]["id"]
    while datetime.now(UTC) <= datetime.fromisoformat(soon.replace("Z", "+00:00")):
        time.sleep(0.2)
    receipt = client.get(f"/v1/consents/{cid}/receipt", headers=holder.headers).json()
    assert receipt["consent_state"] == "active"  # nothing recorded yet: reads never write

    for action in ("suspend", "withdraw"):
        r = client.post(f"/v1/consents/{cid}/{action}", headers=holder.headers)
        assert r.status_code == 409 and r.json()["code"] == "consent_not_active"
        assert "expired" in r.json()["detail"]
    # A refused change rolls back whole, the expiry it found included: the sweep records it.
    receipt = client.get(f"/v1/consents/{cid}/receipt", headers=holder.headers).json()
    assert receipt["consent_state"] == "active"

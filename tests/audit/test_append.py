"""Appends: gap-free under concurrent writers; cached subtrees agree with the leaves."""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Callable
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import Session, select

from consent_service import audit
from consent_service.audit import merkle, offline
from tests.conftest import Org


def test_concurrent_appends_with_rollbacks_give_a_gap_free_sequence(app: FastAPI) -> None:
    engine = app.state.services.engine
    committed: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def writer(worker: int) -> None:
        rng = random.Random(worker)
        try:
            for i in range(25):
                with Session(engine) as session:
                    row = audit.record(
                        session,
                        actor_id=f"worker-{worker}",
                        action="test.appended",
                        subjects={"worker": str(worker)},
                        payload={"i": i},
                    )
                    if rng.random() < 0.3:
                        session.rollback()  # gives its sequence number back
                        continue
                    seq = row.seq
                    session.commit()
                with lock:
                    committed.append(seq)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(w,)) for w in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with Session(engine) as session:
        seqs = [r[0] for r in session.execute(text("SELECT seq FROM audit_event ORDER BY seq"))]
        next_seq = session.execute(text("SELECT next_seq FROM audit_head")).scalar_one()
    assert seqs == list(range(len(seqs)))
    assert sorted(committed) == seqs
    assert next_seq == len(seqs)
    assert 0 < len(seqs) < 150  # some rolled back


def test_tree_heads_and_proofs_over_cached_subtrees_match_the_leaves(
    app: FastAPI,
    client: TestClient,
    admin_headers: dict[str, str],
    jwks_file: Path,
    export_to: Callable[..., Path],
) -> None:
    def append(n: int) -> None:
        with Session(app.state.services.engine) as session:
            for i in range(n):
                audit.record(
                    session,
                    actor_id="bench",
                    action="consent.withdrawn",
                    subjects={},
                    payload={"i": i},
                )
            session.commit()

    append(2100)
    # Read as an admin: an auditor's reads are events too, which would move the tree head.
    first = client.get("/v1/audit/checkpoint", headers=admin_headers).json()
    with Session(app.state.services.engine) as session:
        leaves = [
            bytes.fromhex(r[0])
            for r in session.execute(text("SELECT leaf_hash FROM audit_event ORDER BY seq"))
        ]
        cached = session.execute(text("SELECT count(*) FROM audit_subtree")).scalar_one()
    assert cached == first["tree_size"] // 1024 == 2
    assert merkle.root_hash(leaves).hex() == first["root_hash"]
    for seq in (0, 1023, 1024, 1500, first["tree_size"] - 1):
        body = client.get(
            "/v1/audit/proofs/inclusion", params={"seq": seq}, headers=admin_headers
        ).json()
        assert merkle.verify_inclusion(
            leaves[seq],
            seq,
            first["tree_size"],
            [bytes.fromhex(h) for h in body["inclusion_proof"]],
            bytes.fromhex(first["root_hash"]),
        )
    append(1000)
    second = client.get("/v1/audit/checkpoint", headers=admin_headers).json()
    body = client.get(
        "/v1/audit/proofs/consistency",
        params={"from_size": first["tree_size"]},
        headers=admin_headers,
    ).json()
    assert merkle.verify_consistency(
        first["tree_size"],
        second["tree_size"],
        bytes.fromhex(first["root_hash"]),
        bytes.fromhex(second["root_hash"]),
        [bytes.fromhex(h) for h in body["consistency_proof"]],
    )
    keys = offline.load_jwks_file(jwks_file)
    assert offline.verify_file(export_to(), keys=keys).ok
    filtered = export_to(action="consent.withdrawn")
    assert offline.verify_file(filtered, keys=keys).ok


def test_bulk_appends_continue_the_sequence_with_the_same_hashing(app: FastAPI) -> None:
    from consent_service.audit import service
    from consent_service.canonical import canonical_json

    with Session(app.state.services.engine) as session:
        single = audit.record(session, actor_id="a", action="test.one", subjects={})
        first = service.record_many(
            session,
            [
                {"actor_id": "a", "action": "test.bulk", "subjects": {"holder_id": "hld_x"}},
                {"actor_id": "a", "action": "test.bulk", "subjects": {}, "payload": {"n": 1}},
            ],
        )
        session.commit()
        lines = service.events_for_holder_document(session, "hld_x")
        rows = session.execute(
            text("SELECT seq, event_json, leaf_hash FROM audit_event ORDER BY seq")
        ).all()
    assert first == single.seq + 1
    assert [r[0] for r in rows] == list(range(single.seq + 3))
    for _seq, event_json, leaf in rows:
        assert merkle.hash_leaf(event_json.encode()).hex() == leaf
        assert canonical_json(json.loads(event_json)) == event_json.encode()
    assert [line["seq"] for line in lines] == [first]


def test_concurrent_requests_to_a_live_server_leave_no_gap(
    live_server: str, admin_headers: dict[str, str], auditor: Org
) -> None:
    import httpx

    statuses: list[int] = []

    def create(worker: int) -> None:
        with httpx.Client(base_url=live_server, headers=admin_headers, timeout=30) as http:
            for i in range(8):
                # Refused requests are mixed in: they append nothing (rollbacks: test above).
                body = {"name": f"W{worker}-{i}", "kind": "studio" if i % 2 else "nonsense"}
                statuses.append(http.post("/v1/organizations", json=body).status_code)

    threads = [threading.Thread(target=create, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(set(statuses)) == [201, 422]
    items = httpx.get(
        f"{live_server}/v1/audit/events", params={"limit": 1000}, headers=auditor.headers
    ).json()["items"]
    assert [e["seq"] for e in items] == list(range(len(items)))
    created = [e for e in items if e["event"]["action"] == "organization.created"]
    assert len(created) == statuses.count(201) + 1  # + the auditor's own organization


def test_a_large_batch_append_stores_what_single_appends_store(app: FastAPI) -> None:
    """Large batches take the bulk path (COPY on PostgreSQL): same columns, same hashing."""
    from consent_service.audit import service
    from consent_service.audit.models import AuditEvent
    from consent_service.canonical import canonical_json

    entries = [
        {
            "actor_id": "a",
            "action": "test.bulk",
            "subjects": {"holder_id": f"hld_{i % 3}", "licence_id": f"lic_{i}"},
            "payload": {"n": i, "text": 'tab\\t quote" é 😀'},
        }
        for i in range(100)
    ]
    with Session(app.state.services.engine) as session:
        first = service.record_many(session, entries)
        session.commit()
        rows = session.exec(select(AuditEvent).order_by(AuditEvent.seq)).all()
    assert [r.seq for r in rows] == list(range(first, first + 100))
    for row, entry in zip(rows, entries, strict=True):
        assert row.subject_ids == entry["subjects"]
        assert row.holder_id == entry["subjects"]["holder_id"]
        assert row.occurred_at.tzinfo is not None
        event = json.loads(row.event_json)
        assert event["payload"] == entry["payload"] and event["seq"] == row.seq
        assert canonical_json(event) == row.event_json.encode()
        assert merkle.hash_leaf(row.event_json.encode()).hex() == row.leaf_hash

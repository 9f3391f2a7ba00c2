"""The auditor's API: checkpoint, proofs, events, export; roles; the holder's own proof."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from consent_service.audit import merkle, offline
from consent_service.canonical import canonical_json
from consent_service.crypto import signing
from tests.audit.conftest import key_actor, read_lines
from tests.conftest import HolderAccount, Org


def test_checkpoint_is_signed_and_its_root_recomputes_from_the_events(
    client: TestClient,
    auditor: Org,
    admin_headers: dict[str, str],
    make_events: Callable[[int], None],
) -> None:
    make_events(5)
    r = client.get("/v1/audit/checkpoint", headers=auditor.headers)
    assert r.status_code == 200, r.text
    checkpoint = r.json()
    keys = signing.keys_from_jwks(client.get("/.well-known/jwks.json").json())
    header, payload = signing.verify(checkpoint["signature"], keys=keys, typ="checkpoint+jwt")
    assert payload == {k: checkpoint[k] for k in ("tree_size", "root_hash", "timestamp")}
    events = client.get("/v1/audit/events", params={"limit": 1000}, headers=auditor.headers)
    items = events.json()["items"]
    # The auditor's read of the checkpoint is the first event after it, naming its size.
    size = checkpoint["tree_size"]
    assert [i["seq"] for i in items] == list(range(size + 1))
    read = items[size]["event"]
    actor = key_actor(client, admin_headers, auditor)
    assert (read["action"], read["actor"]) == ("auditor.read", actor)
    assert read["payload"]["reads"] == [{"kind": "audit_checkpoint", "tree_size": size}]
    leaves = [merkle.hash_leaf(canonical_json(i["event"])) for i in items]
    assert [leaf.hex() for leaf in leaves] == [i["leaf_hash"] for i in items]
    assert merkle.root_hash(leaves[:size]).hex() == checkpoint["root_hash"]


def test_inclusion_and_consistency_proofs_verify_against_checkpoints(
    client: TestClient, auditor: Org, make_events: Callable[[int], None]
) -> None:
    make_events(3)
    old = client.get("/v1/audit/checkpoint", headers=auditor.headers).json()
    make_events(6)
    new = client.get("/v1/audit/checkpoint", headers=auditor.headers).json()
    assert new["tree_size"] > old["tree_size"]
    for seq in range(new["tree_size"]):
        r = client.get(
            "/v1/audit/proofs/inclusion",
            params={"seq": seq, "tree_size": new["tree_size"]},
            headers=auditor.headers,
        )
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["root_hash"] == new["root_hash"]
        assert merkle.verify_inclusion(
            bytes.fromhex(body["leaf_hash"]),
            seq,
            new["tree_size"],
            [bytes.fromhex(h) for h in body["inclusion_proof"]],
            bytes.fromhex(new["root_hash"]),
        )
    r = client.get(
        "/v1/audit/proofs/consistency",
        params={"from_size": old["tree_size"], "to_size": new["tree_size"]},
        headers=auditor.headers,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["from_root"] == old["root_hash"]
    assert merkle.verify_consistency(
        old["tree_size"],
        new["tree_size"],
        bytes.fromhex(old["root_hash"]),
        bytes.fromhex(new["root_hash"]),
        [bytes.fromhex(h) for h in body["consistency_proof"]],
    )


def test_proofs_outside_the_log_are_refused_not_crashed(
    client: TestClient, admin_headers: dict[str, str], make_events: Callable[[int], None]
) -> None:
    make_events(2)
    size = client.get("/v1/audit/checkpoint", headers=admin_headers).json()["tree_size"]
    for params in (
        {"seq": size},
        {"seq": 0, "tree_size": size + 1},
        {"seq": 2, "tree_size": 2},
    ):
        r = client.get("/v1/audit/proofs/inclusion", params=params, headers=admin_headers)
        assert r.status_code == 400, (params, r.text)
        assert r.json()["code"] == "proof_out_of_range"
    r = client.get(
        "/v1/audit/proofs/consistency",
        params={"from_size": size + 1},
        headers=admin_headers,
    )
    assert r.status_code == 400
    for params in ({"seq": -1}, {"seq": "x"}, {"seq": 2**80}):
        r = client.get("/v1/audit/proofs/inclusion", params=params, headers=admin_headers)
        assert r.status_code == 422


def test_events_page_in_sequence_order(
    client: TestClient, admin_headers: dict[str, str], make_events: Callable[[int], None]
) -> None:
    make_events(4)
    seqs: list[int] = []
    after = -1
    while True:
        r = client.get(
            "/v1/audit/events", params={"after": after, "limit": 2}, headers=admin_headers
        )
        assert r.status_code == 200, r.text
        page = r.json()
        seqs += [i["seq"] for i in page["items"]]
        if page["next_after"] is None:
            break
        after = page["next_after"]
    size = client.get("/v1/audit/checkpoint", headers=admin_headers).json()["tree_size"]
    assert seqs == list(range(size))


@pytest.mark.parametrize(
    "path",
    [
        "/v1/audit/checkpoint",
        "/v1/audit/checkpoints",
        "/v1/audit/events",
        "/v1/audit/export",
        "/v1/audit/proofs/inclusion?seq=0",
        "/v1/audit/proofs/consistency?from_size=1",
    ],
)
def test_holders_and_studios_get_404_for_the_log(
    client: TestClient, holder: HolderAccount, studio: Org, auditor: Org, path: str
) -> None:
    assert client.get(path, headers=holder.headers).status_code == 404
    assert client.get(path, headers=studio.headers).status_code == 404
    assert client.get(path).status_code == 401
    assert client.get(path, headers=auditor.headers).status_code == 200


def test_admins_read_the_log(client: TestClient, admin_headers: dict[str, str]) -> None:
    assert client.get("/v1/audit/checkpoint", headers=admin_headers).status_code == 200


def test_complete_export_ends_with_the_checkpoint_of_exactly_its_events(
    client: TestClient,
    make_events: Callable[[int], None],
    export_to: Callable[..., Path],
    jwks_file: Path,
) -> None:
    make_events(6)
    path = export_to()
    lines = read_lines(path)
    checkpoint = lines[-1]["checkpoint"]
    events = lines[:-1]
    assert set(lines[-1]) == {"checkpoint"}
    assert set(checkpoint) == {"tree_size", "root_hash", "timestamp", "signature"}
    assert [e["seq"] for e in events] == list(range(checkpoint["tree_size"]))
    assert all(set(e) == {"seq", "leaf_hash", "event"} for e in events)
    for e in events:
        assert set(e["event"]) == {"seq", "time", "actor", "action", "subjects", "payload"}
        assert merkle.hash_leaf(canonical_json(e["event"])).hex() == e["leaf_hash"]
    report = offline.verify_file(path, keys=offline.load_jwks_file(jwks_file))
    assert report.ok, report.findings
    assert report.complete and report.events == checkpoint["tree_size"]


def test_export_contains_no_personal_data(
    client: TestClient,
    register_holder: Callable[..., HolderAccount],
    export_to: Callable[..., Path],
) -> None:
    person = register_holder(legal_name="Zebedee Uniquename", stage_name="Zeb Stage")
    text = export_to().read_text()
    assert person.id in text
    for value in ("Zebedee", "Uniquename", "Zeb Stage", person.email, "1990-05-17"):
        assert value not in text


def test_filtered_export_carries_inclusion_proofs_that_verify(
    client: TestClient,
    register_holder: Callable[..., HolderAccount],
    make_events: Callable[[int], None],
    export_to: Callable[..., Path],
    jwks_file: Path,
) -> None:
    make_events(3)
    person = register_holder()
    make_events(3)
    path = export_to(holder_id=person.id)
    lines = read_lines(path)
    events = lines[:-1]
    assert events and all(e["event"]["subjects"].get("holder_id") == person.id for e in events)
    assert all(isinstance(e["inclusion_proof"], list) for e in events)
    report = offline.verify_file(path, keys=offline.load_jwks_file(jwks_file))
    assert report.ok, report.findings
    assert not report.complete

    by_action = read_lines(export_to(action="holder.registered"))[:-1]
    assert [e["event"]["action"] for e in by_action] == ["holder.registered"]


def test_export_filters_by_time_range(
    client: TestClient, make_events: Callable[[int], None], export_to: Callable[..., Path]
) -> None:
    make_events(4)
    events = read_lines(export_to())[:-1]
    middle = events[2]["event"]["time"]
    later = read_lines(export_to(**{"from": middle}))[:-1]
    assert later and all(e["event"]["time"] >= middle for e in later)
    assert events[2]["seq"] == later[0]["seq"]
    earlier = read_lines(export_to(to=middle))[:-1]
    assert [e["seq"] for e in earlier] == [e["seq"] for e in events[:2]]
    assert read_lines(export_to(**{"from": "2999-01-01T00:00:00Z"}))[:-1] == []


def test_csv_export_has_one_row_per_event_and_ends_with_the_checkpoint_record(
    client: TestClient, auditor: Org, make_events: Callable[[int], None]
) -> None:
    make_events(3)
    r = client.get("/v1/audit/export", params={"format": "csv"}, headers=auditor.headers)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/csv")
    *rows, last = list(csv.DictReader(io.StringIO(r.text)))
    keys = signing.keys_from_jwks(client.get("/.well-known/jwks.json").json())
    _, payload = signing.verify(r.headers["audit-checkpoint"], keys=keys, typ="checkpoint+jwt")
    assert [int(row["seq"]) for row in rows] == list(range(payload["tree_size"]))
    # The same signed checkpoint is the file's last record: the CSV verifies on its own.
    assert last["seq"] == "checkpoint"
    assert json.loads(last["event"])["signature"] == r.headers["audit-checkpoint"]
    for row in rows:
        assert merkle.hash_leaf(row["event"].encode()).hex() == row["leaf_hash"]
        assert json.loads(row["event"])["action"] == row["action"]


def test_a_holder_gets_the_inclusion_proof_of_their_own_event_only(
    client: TestClient, register_holder: Callable[..., HolderAccount], auditor: Org
) -> None:
    person = register_holder()
    other = register_holder()
    events = client.get("/v1/audit/events", params={"limit": 1000}, headers=auditor.headers).json()[
        "items"
    ]
    seq = next(e["seq"] for e in events if e["event"]["subjects"].get("holder_id") == person.id)
    r = client.get(
        f"/v1/holders/{person.id}/audit-proofs", params={"seq": seq}, headers=person.headers
    )
    assert r.status_code == 200, r.text
    body = r.json()
    keys = signing.keys_from_jwks(client.get("/.well-known/jwks.json").json())
    checkpoint = body["checkpoint"]
    signing.verify(checkpoint["signature"], keys=keys, typ="checkpoint+jwt")
    assert merkle.verify_inclusion(
        merkle.hash_leaf(canonical_json(body["event"])),
        seq,
        checkpoint["tree_size"],
        [bytes.fromhex(h) for h in body["inclusion_proof"]],
        bytes.fromhex(checkpoint["root_hash"]),
    )
    # Someone else's holder id, someone else's event, or no event: 404 alike.
    assert (
        client.get(
            f"/v1/holders/{other.id}/audit-proofs", params={"seq": seq}, headers=person.headers
        ).status_code
        == 404
    )
    assert (
        client.get(
            f"/v1/holders/{other.id}/audit-proofs", params={"seq": seq}, headers=other.headers
        ).status_code
        == 404
    )
    assert (
        client.get(
            f"/v1/holders/{person.id}/audit-proofs", params={"seq": 10**6}, headers=person.headers
        ).status_code
        == 404
    )


def test_holder_document_lists_the_events_naming_the_holder(
    client: TestClient, register_holder: Callable[..., HolderAccount], db_session
) -> None:
    from consent_service.audit import service

    person = register_holder()
    register_holder()
    lines = service.events_for_holder_document(db_session, person.id)
    assert [line["event"]["action"] for line in lines] == ["holder.registered"]
    assert lines[0]["event"]["subjects"]["holder_id"] == person.id
    assert merkle.hash_leaf(canonical_json(lines[0]["event"])).hex() == lines[0]["leaf_hash"]

"""The kept checkpoint history: every tree size signed is kept once (JWS and signed note), listed
for auditors with the witnesses' cosignatures, newest first or ascending from `after`."""

from __future__ import annotations

import threading
from collections.abc import Callable

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import Session

from consent_service.audit import note
from consent_service.config import Settings
from consent_service.crypto import signing
from tests.audit.conftest import key_actor
from tests.audit.test_witness import WITNESS, raw, spec_cosign, spec_vkey
from tests.conftest import Org


@pytest.fixture
def witness_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def settings(settings: Settings, witness_key: Ed25519PrivateKey) -> Settings:
    vkey = spec_vkey(WITNESS, 0x04, raw(witness_key.public_key()))
    return settings.model_copy(update={"audit_witnesses": vkey})


def _history(client: TestClient, headers: dict[str, str], **params: int) -> dict:
    r = client.get("/v1/audit/checkpoints", params=params, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


def test_history_keeps_each_signed_tree_size_once_in_both_forms(
    client: TestClient, admin_headers: dict[str, str], make_events: Callable[[int], None]
) -> None:
    make_events(2)
    first = client.get("/v1/audit/checkpoint", headers=admin_headers).json()
    again = client.get("/v1/audit/checkpoint", headers=admin_headers).json()
    assert again["tree_size"] == first["tree_size"]
    signed_note = client.get(
        "/v1/audit/checkpoint", headers={**admin_headers, "Accept": "text/plain"}
    ).text
    make_events(3)
    later = client.get("/v1/audit/checkpoint", headers=admin_headers).json()
    # An earlier size asked for by its number is signed, so kept, too.
    earlier = client.get("/v1/audit/checkpoint", params={"tree_size": 1}, headers=admin_headers)
    assert earlier.status_code == 200

    items = _history(client, admin_headers)["items"]
    assert [i["tree_size"] for i in items] == [later["tree_size"], first["tree_size"], 1]
    kept = items[1]
    assert kept["root_hash"] == first["root_hash"]
    # The first JWS signed for the size is kept, not the later ones.
    assert kept["signature"] == first["signature"] != again["signature"]
    keys = signing.keys_from_jwks(client.get("/.well-known/jwks.json").json())
    _, payload = signing.verify(kept["signature"], keys=keys, typ="checkpoint+jwt")
    assert payload["tree_size"] == first["tree_size"]
    # The kept note is the log's own signed note of that head (same text as the one served).
    parsed = note.parse_note(kept["note"].encode())
    assert parsed.text == note.parse_note(signed_note.encode()).text
    vkey = client.get("/v1/audit/checkpoint/verifier-key").text.strip()
    assert note.parse_verifier_key(vkey).verify(parsed.text, parsed.signatures[0]) is not None
    assert kept["cosignatures"] == []


def test_a_note_read_first_keeps_the_size_with_a_jws_too(
    client: TestClient, admin_headers: dict[str, str], make_events: Callable[[int], None]
) -> None:
    make_events(2)
    text = client.get(
        "/v1/audit/checkpoint", headers={**admin_headers, "Accept": "text/plain"}
    ).text
    size = int(text.split("\n")[1])
    (kept,) = _history(client, admin_headers)["items"]
    assert kept["tree_size"] == size and kept["note"] == text
    keys = signing.keys_from_jwks(client.get("/.well-known/jwks.json").json())
    _, payload = signing.verify(kept["signature"], keys=keys, typ="checkpoint+jwt")
    assert (payload["tree_size"], payload["root_hash"]) == (size, kept["root_hash"])


def test_history_pages_newest_first_and_ascending_after(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    sizes = []
    for n in range(5):
        client.post(
            "/v1/organizations", json={"name": f"O{n}", "kind": "studio"}, headers=admin_headers
        )
        sizes.append(client.get("/v1/audit/checkpoint", headers=admin_headers).json()["tree_size"])
    newest = sorted(sizes, reverse=True)
    page = _history(client, admin_headers, limit=2)
    assert [i["tree_size"] for i in page["items"]] == newest[:2]
    assert page["next_after"] is None
    page = _history(client, admin_headers, limit=2, before=page["next_before"])
    assert [i["tree_size"] for i in page["items"]] == newest[2:4]
    page = _history(client, admin_headers, limit=2, before=page["next_before"])
    assert [i["tree_size"] for i in page["items"]] == newest[4:]
    assert page["next_before"] is None
    ascending = _history(client, admin_headers, after=sizes[0], limit=3)
    assert [i["tree_size"] for i in ascending["items"]] == sorted(sizes)[1:4]
    assert ascending["next_before"] is None
    rest = _history(client, admin_headers, after=ascending["next_after"], limit=3)
    assert [i["tree_size"] for i in rest["items"]] == sorted(sizes)[4:]
    assert rest["next_after"] is None

    r = client.get("/v1/audit/checkpoints?after=1&before=3", headers=admin_headers)
    assert r.status_code == 422 and r.json()["code"] == "conflicting_cursors"
    assert r.headers["content-type"].startswith("application/problem+json")
    r = client.get("/v1/audit/checkpoints?limit=0", headers=admin_headers)
    assert r.status_code == 422


def test_history_carries_the_witnesses_cosignatures(
    client: TestClient, admin_headers: dict[str, str], witness_key: Ed25519PrivateKey
) -> None:
    signed = client.get(
        "/v1/audit/checkpoint", headers={**admin_headers, "Accept": "text/plain"}
    ).text
    line = spec_cosign(signed, WITNESS, witness_key)
    r = client.post(
        "/v1/audit/checkpoint/cosignatures",
        content=(signed + line).encode(),
        headers={"Content-Type": "text/plain"},
    )
    assert r.status_code == 201, r.text
    (kept,) = _history(client, admin_headers)["items"]
    assert [(c["witness"], c["signature_line"]) for c in kept["cosignatures"]] == [(WITNESS, line)]


def test_an_auditors_read_of_the_history_is_on_the_log(
    client: TestClient,
    auditor: Org,
    admin_headers: dict[str, str],
    make_events: Callable[[int], None],
) -> None:
    make_events(1)
    size = client.get("/v1/audit/checkpoint", headers=admin_headers).json()["tree_size"]
    page = _history(client, auditor.headers, limit=10)
    assert [i["tree_size"] for i in page["items"]] == [size]
    events = client.get("/v1/audit/events", params={"limit": 1000}, headers=admin_headers)
    read = events.json()["items"][-1]["event"]
    assert (read["action"], read["actor"]) == (
        "auditor.read",
        key_actor(client, admin_headers, auditor),
    )
    assert read["payload"]["reads"] == [
        {
            "kind": "audit_checkpoints",
            "after": None,
            "before": None,
            "limit": 10,
            "tree_sizes": [size, size],
            "count": 1,
        }
    ]


def test_concurrent_first_reads_of_one_size_keep_one_row(
    live_server: str, admin_headers: dict[str, str], make_events: Callable[[int], None]
) -> None:
    """Six clients read the same new head at once, as JWS and as note: one row is kept."""
    make_events(3)
    sizes: list[int] = []
    barrier = threading.Barrier(6)

    def read() -> None:
        with httpx.Client(base_url=live_server, headers=admin_headers, timeout=30) as http:
            barrier.wait()
            for accept in ("application/json", "text/plain"):
                r = http.get("/v1/audit/checkpoint", headers={"Accept": accept})
                assert r.status_code == 200, r.text
                size = r.json()["tree_size"] if accept == "application/json" else r.text
                sizes.append(int(size) if isinstance(size, int) else int(size.split("\n")[1]))

    threads = [threading.Thread(target=read) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(sizes) == 12 and len(set(sizes)) == 1  # admins' reads append nothing
    r = httpx.get(f"{live_server}/v1/audit/checkpoints", headers=admin_headers, timeout=30)
    assert [i["tree_size"] for i in r.json()["items"]] == sizes[:1]


def test_a_cosigned_head_signed_before_the_history_was_kept_is_kept_on_cosigning(
    client: TestClient,
    admin_headers: dict[str, str],
    witness_key: Ed25519PrivateKey,
    db_session: Session,
) -> None:
    signed = client.get(
        "/v1/audit/checkpoint", headers={**admin_headers, "Accept": "text/plain"}
    ).text
    # As if the note had been signed by a deployment that kept no history.
    db_session.execute(text("DELETE FROM audit_signed_checkpoint"))
    db_session.commit()
    assert _history(client, admin_headers)["items"] == []
    line = spec_cosign(signed, WITNESS, witness_key)
    r = client.post(
        "/v1/audit/checkpoint/cosignatures",
        content=(signed + line).encode(),
        headers={"Content-Type": "text/plain"},
    )
    assert r.status_code == 201, r.text
    (kept,) = _history(client, admin_headers)["items"]
    assert kept["tree_size"] == r.json()["tree_size"]
    assert kept["note"] + line == signed + line  # Ed25519 signs deterministically
    assert [c["witness"] for c in kept["cosignatures"]] == [WITNESS]

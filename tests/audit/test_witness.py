"""Signed-note checkpoints (C2SP tlog-checkpoint) and witnesses' cosignatures (tlog-cosignature).

The note format is checked against an implementation written here from the C2SP specs
(signed-note, tlog-checkpoint, tlog-cosignature), using only hashlib, base64 and the Ed25519 of
`cryptography`: it shares no code with the app's `audit/note.py`. No published Python or npm
library implements the C2SP note format with Ed25519 cosignatures as a public API (sigstore's
checkpoint parser is internal and tied to its own key handling), so the test carries its own.
The witness below is built the same way: it cosigns like a tlog-witness would.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Callable

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from fastapi.testclient import TestClient
from sqlalchemy import text

from consent_service.audit import merkle
from consent_service.config import Settings
from tests.conftest import Org

EM_DASH = "\u2014"


# -- an independent reading of the C2SP specs --------------------------------------------------


def raw(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(Encoding.Raw, PublicFormat.Raw)


def spec_key_id(name: str, sig_type: int, public: bytes) -> bytes:
    # signed-note: key ID = SHA-256(key name || 0x0A || signature type || public key)[:4]
    return hashlib.sha256(name.encode() + b"\x0a" + bytes([sig_type]) + public).digest()[:4]


def spec_vkey(name: str, sig_type: int, public: bytes) -> str:
    # signed-note verifier key: <name>+<hex key ID>+<base64(type || key)>
    kid = spec_key_id(name, sig_type, public).hex()
    return f"{name}+{kid}+{base64.b64encode(bytes([sig_type]) + public).decode()}"


def spec_split(note: str) -> tuple[str, list[tuple[str, bytes, bytes]]]:
    """signed-note: text ending in \\n, a blank line, then '— name base64(id || sig)\\n' lines."""
    assert note.endswith("\n")
    cut = note.rindex("\n\n")
    body, sig_block = note[: cut + 1], note[cut + 2 :]
    sigs = []
    for line in sig_block.splitlines():
        assert line.startswith(EM_DASH + " "), line
        name, b64 = line[2:].split(" ")
        blob = base64.b64decode(b64, validate=True)
        sigs.append((name, blob[:4], blob[4:]))
    return body, sigs


def spec_verify_log(note: str, vkey: str) -> tuple[str, int, bytes]:
    """Verify the log's Ed25519 (type 0x01) signature; return origin, size, root."""
    name, hex_id, b64 = vkey.split("+", 2)
    key = base64.b64decode(b64)
    assert key[0] == 0x01 and bytes.fromhex(hex_id) == spec_key_id(name, 0x01, key[1:])
    body, sigs = spec_split(note)
    mine = [s for n, kid, s in sigs if n == name and kid == bytes.fromhex(hex_id)]
    assert len(mine) == 1
    Ed25519PublicKey.from_public_bytes(key[1:]).verify(mine[0], body.encode())
    origin, size, root, *rest = body.split("\n")
    assert rest == [""], "no extension lines"
    assert size == "0" or not size.startswith("0")
    return origin, int(size), base64.b64decode(root, validate=True)


def spec_cosign(note: str, name: str, key: Ed25519PrivateKey, when: int | None = None) -> str:
    """A witness's tlog-cosignature/v1 line over the note's checkpoint body."""
    body, _ = spec_split(note)
    when = int(time.time()) if when is None else when
    message = f"cosignature/v1\ntime {when}\n".encode() + body.encode()
    blob = spec_key_id(name, 0x04, raw(key.public_key())) + when.to_bytes(8, "big")
    blob += key.sign(message)
    return f"{EM_DASH} {name} {base64.b64encode(blob).decode()}\n"


def spec_verify_cosignature(note: str, name: str, public: bytes) -> int:
    body, sigs = spec_split(note)
    kid = spec_key_id(name, 0x04, public)
    (sig,) = [s for n, k, s in sigs if n == name and k == kid]
    when = int.from_bytes(sig[:8], "big")
    message = f"cosignature/v1\ntime {when}\n".encode() + body.encode()
    Ed25519PublicKey.from_public_bytes(public).verify(sig[8:], message)
    return when


# -- fixtures ----------------------------------------------------------------------------------

WITNESS = "witness.example/w1"
OTHER = "witness.example/w2"


@pytest.fixture
def witness_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def other_witness_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def settings(
    settings: Settings, witness_key: Ed25519PrivateKey, other_witness_key: Ed25519PrivateKey
) -> Settings:
    witnesses = ", ".join(
        spec_vkey(name, 0x04, raw(key.public_key()))
        for name, key in ((WITNESS, witness_key), (OTHER, other_witness_key))
    )
    return settings.model_copy(update={"audit_witnesses": witnesses})


def note_of(client: TestClient, headers: dict[str, str], **params: int) -> str:
    """The signed note, read with `headers`: an admin's in these tests, which are about the
    note and its cosignatures (an auditor's read is an event, which would move the head)."""
    r = client.get(
        "/v1/audit/checkpoint",
        params=params,
        headers={**headers, "Accept": "text/plain"},
    )
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return r.text


def log_vkey(client: TestClient) -> str:
    r = client.get("/v1/audit/checkpoint/verifier-key")
    assert r.status_code == 200
    return r.text.strip()


def post(client: TestClient, body: str) -> object:
    return client.post(
        "/v1/audit/checkpoint/cosignatures",
        content=body.encode(),
        headers={"Content-Type": "text/plain"},
    )


# -- tests -------------------------------------------------------------------------------------


def test_the_note_checkpoint_verifies_with_an_independent_implementation_and_matches_the_jws(
    client: TestClient, admin_headers: dict[str, str], make_events: Callable[[int], None]
) -> None:
    make_events(5)
    vkey = log_vkey(client)
    note = note_of(client, admin_headers)
    origin, size, root = spec_verify_log(note, vkey)
    assert origin == "testserver/audit-log" == vkey.split("+", 2)[0]
    jws = client.get("/v1/audit/checkpoint", headers=admin_headers).json()
    assert (size, root.hex()) == (jws["tree_size"], jws["root_hash"])
    # An older size: the same tree head the proofs speak of.
    old = note_of(client, admin_headers, tree_size=3)
    _, old_size, old_root = spec_verify_log(old, vkey)
    proof = client.get(
        "/v1/audit/proofs/consistency",
        params={"from_size": 3, "to_size": size},
        headers=admin_headers,
    ).json()
    assert merkle.verify_consistency(
        old_size, size, old_root, root, [bytes.fromhex(h) for h in proof["consistency_proof"]]
    )
    # A single changed byte of the text breaks the signature (the check can fail).
    tampered = note.replace(f"\n{size}\n", f"\n{size + 1}\n", 1)
    with pytest.raises(InvalidSignature):
        spec_verify_log(tampered, vkey)


def test_the_checkpoint_is_for_auditors_only(
    client: TestClient, make_org: Callable[..., Org]
) -> None:
    studio = make_org("studio")
    r = client.get("/v1/audit/checkpoint", headers={**studio.headers, "Accept": "text/plain"})
    assert r.status_code == 404
    assert client.get("/v1/audit/checkpoint", headers={"Accept": "text/plain"}).status_code == 401


def test_a_witness_cosignature_is_kept_and_served_with_the_checkpoint(
    client: TestClient,
    admin_headers: dict[str, str],
    make_events: Callable[[int], None],
    witness_key: Ed25519PrivateKey,
    other_witness_key: Ed25519PrivateKey,
) -> None:
    make_events(4)
    note = note_of(client, admin_headers)
    cosigned = note + spec_cosign(note, WITNESS, witness_key)
    r = post(client, cosigned)
    assert r.status_code == 201, r.text
    _, size, _ = spec_verify_log(note, log_vkey(client))
    assert r.json() == {"tree_size": size, "witnesses": [WITNESS]}
    # A second witness sends only its own line with the note (the log's line optional).
    body, _ = spec_split(note)
    r = post(client, body + "\n" + spec_cosign(note, OTHER, other_witness_key))
    assert r.status_code == 201, r.text
    # Sent again (a retry), a cosignature replaces its earlier copy: one per witness and size.
    assert post(client, cosigned).status_code == 201
    assert note_of(client, admin_headers).count(EM_DASH + " " + WITNESS + " ") == 1
    served = note_of(client, admin_headers)
    spec_verify_log(served, log_vkey(client))
    assert spec_verify_cosignature(served, WITNESS, raw(witness_key.public_key())) > 0
    assert spec_verify_cosignature(served, OTHER, raw(other_witness_key.public_key())) > 0
    # Once the log grows, the latest checkpoint has no cosignature yet; the cosigned size
    # still serves its own.
    make_events(1)
    assert WITNESS not in note_of(client, admin_headers)
    older = note_of(client, admin_headers, tree_size=size)
    assert spec_verify_cosignature(older, WITNESS, raw(witness_key.public_key())) > 0


def _count(client: TestClient, app_engine: object) -> int:
    with app_engine.connect() as conn:  # type: ignore[attr-defined]
        return int(conn.execute(text("SELECT count(*) FROM audit_cosignature")).scalar_one())


def test_cosignatures_from_unknown_witnesses_or_over_another_tree_head_are_refused(
    client: TestClient,
    app: object,
    admin_headers: dict[str, str],
    make_events: Callable[[int], None],
    witness_key: Ed25519PrivateKey,
) -> None:
    engine = app.state.services.engine  # type: ignore[attr-defined]
    make_events(3)
    note = note_of(client, admin_headers)
    body, _ = spec_split(note)
    origin, size, root = spec_verify_log(note, log_vkey(client))

    # An unknown witness (a key not configured, under a configured name too).
    stranger = Ed25519PrivateKey.generate()
    for name in ("stranger.example/w", WITNESS):
        r = post(client, note + spec_cosign(note, name, stranger))
        assert r.status_code == 403, r.text
        assert r.json()["code"] == "unknown_witness"
        assert WITNESS in r.json()["witnesses"]

    # A configured witness cosigning another tree head: a different root at this size, a
    # size the log does not have, another log's origin.
    forged_root = base64.b64encode(hashlib.sha256(b"other").digest()).decode()
    for other_body in (
        f"{origin}\n{size}\n{forged_root}\n",
        f"{origin}\n{size + 10}\n{base64.b64encode(root).decode()}\n",
        f"elsewhere.example/log\n{size}\n{base64.b64encode(root).decode()}\n",
    ):
        fake = other_body + "\n" + f"{EM_DASH} x AAAAAAAA\n"
        r = post(client, other_body + "\n" + spec_cosign(fake, WITNESS, witness_key))
        assert r.status_code == 409, r.text
        assert r.json()["code"] == "cosigned_tree_head_mismatch"

    # A configured witness's line whose signature does not verify (made over another time).
    line = spec_cosign(note, WITNESS, witness_key, when=1000)
    name, blob = line[2:].split(" ")
    raw_sig = bytearray(base64.b64decode(blob))
    raw_sig[4:12] = (1001).to_bytes(8, "big")
    r = post(client, note + f"{EM_DASH} {name} {base64.b64encode(bytes(raw_sig)).decode()}\n")
    assert r.status_code == 422 and r.json()["code"] == "invalid_cosignature"

    # Not a note; the wrong media type.
    r = post(client, "hello")
    assert r.status_code == 400 and r.json()["code"] == "malformed_note"
    r = client.post(
        "/v1/audit/checkpoint/cosignatures",
        content=note.encode(),
        headers={"Content-Type": "application/octet-stream"},
    )
    assert r.status_code == 415
    assert _count(client, engine) == 0  # nothing was written by any of them


def test_a_note_for_a_size_the_log_does_not_have_is_refused(
    client: TestClient, admin_headers: dict[str, str]
) -> None:
    r = client.get(
        "/v1/audit/checkpoint",
        params={"tree_size": 10**9},
        headers={**admin_headers, "Accept": "text/plain"},
    )
    assert r.status_code == 400 and r.json()["code"] == "proof_out_of_range"

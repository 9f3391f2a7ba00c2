"""Offline verification: an intact export passes; each kind of tampering is named as such."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import Session
from typer.testing import CliRunner

from consent_service.audit import merkle
from consent_service.canonical import canonical_json
from consent_service.cli import app as cli_app
from consent_service.crypto import signing
from tests.audit.conftest import read_lines, write_lines
from tests.conftest import Org

runner = CliRunner()


def verify(path: Path, jwks_file: Path, *extra: str) -> tuple[int, str]:
    result = runner.invoke(
        cli_app, ["audit", "verify", str(path), "--jwks", str(jwks_file), *extra]
    )
    return result.exit_code, result.output


@pytest.fixture
def export_lines(make_events: Callable[[int], None], export_to: Callable[..., Path]) -> list[dict]:
    make_events(8)
    return read_lines(export_to())


def test_an_intact_export_verifies_and_exits_zero(
    export_to: Callable[..., Path], make_events: Callable[[int], None], jwks_file: Path
) -> None:
    make_events(3)
    code, out = verify(export_to(), jwks_file)
    assert code == 0, out
    assert out.startswith("OK:")


def test_an_edited_line_is_reported_as_edited(
    export_lines: list[dict], jwks_file: Path, tmp_path: Path
) -> None:
    export_lines[3]["event"]["actor"] = "someone-else"
    code, out = verify(write_lines(tmp_path / "edited.jsonl", export_lines), jwks_file)
    assert code == 1
    assert "[EDITED_LINE] line 4: seq 3: the event does not hash to its leaf_hash" in out
    assert "DROPPED" not in out and "REORDERED" not in out and "INSERTED" not in out


def test_an_edit_with_a_recomputed_leaf_hash_breaks_the_root(
    export_lines: list[dict], jwks_file: Path, tmp_path: Path
) -> None:
    export_lines[3]["event"]["payload"] = {"forged": True}
    export_lines[3]["leaf_hash"] = merkle.hash_leaf(canonical_json(export_lines[3]["event"])).hex()
    code, out = verify(write_lines(tmp_path / "rehashed.jsonl", export_lines), jwks_file)
    assert code == 1
    assert "[ROOT_MISMATCH]" in out and "EDITED_LINE" not in out


def test_a_dropped_event_is_reported_as_dropped(
    export_lines: list[dict], jwks_file: Path, tmp_path: Path
) -> None:
    del export_lines[5]
    code, out = verify(write_lines(tmp_path / "dropped.jsonl", export_lines), jwks_file)
    assert code == 1
    assert "[DROPPED_EVENTS] 1 event(s) of the checkpoint are missing: seq 5" in out
    assert "REORDERED" not in out and "INSERTED" not in out and "EDITED" not in out


def test_reordered_events_are_reported_as_reordered(
    export_lines: list[dict], jwks_file: Path, tmp_path: Path
) -> None:
    export_lines[2], export_lines[3] = export_lines[3], export_lines[2]
    code, out = verify(write_lines(tmp_path / "reordered.jsonl", export_lines), jwks_file)
    assert code == 1
    assert "[REORDERED_EVENTS] line 4: seq 2 comes after seq 3" in out
    assert "DROPPED" not in out and "INSERTED" not in out and "EDITED" not in out


def test_an_inserted_line_is_reported_as_inserted(
    export_lines: list[dict], jwks_file: Path, tmp_path: Path
) -> None:
    forged = json.loads(json.dumps(export_lines[4]))
    forged["event"]["action"] = "consent.withdrawn"
    forged["leaf_hash"] = merkle.hash_leaf(canonical_json(forged["event"])).hex()
    export_lines.insert(5, forged)
    code, out = verify(write_lines(tmp_path / "inserted.jsonl", export_lines), jwks_file)
    assert code == 1
    assert "[INSERTED_LINE] line 6: seq 4 appears a second time" in out
    assert "DROPPED" not in out and "REORDERED" not in out

    # A line with a fresh seq past the end of the log.
    extra = json.loads(json.dumps(export_lines[-2]))
    size = export_lines[-1]["checkpoint"]["tree_size"]
    extra["seq"] = extra["event"]["seq"] = size
    extra["leaf_hash"] = merkle.hash_leaf(canonical_json(extra["event"])).hex()
    del export_lines[5]
    export_lines.insert(-1, extra)
    code, out = verify(write_lines(tmp_path / "appended.jsonl", export_lines), jwks_file)
    assert code == 1
    assert f"seq {size} is beyond the checkpoint's tree size" in out


def test_a_forged_checkpoint_is_reported_as_forged(
    export_lines: list[dict], jwks_file: Path, tmp_path: Path
) -> None:
    # 1. Its root edited: the signature no longer covers it.
    edited = json.loads(json.dumps(export_lines))
    edited[-1]["checkpoint"]["root_hash"] = "00" * 32
    code, out = verify(write_lines(tmp_path / "cp-edited.jsonl", edited), jwks_file)
    assert code == 1 and "[FORGED_CHECKPOINT]" in out and "root_hash was changed" in out

    # 2. Re-signed by a key that is not the service's.
    forger = signing.generate_private_key()
    kid = signing.public_jwk_of(forger)["kid"]
    checkpoint = export_lines[-1]["checkpoint"]
    body = {k: checkpoint[k] for k in ("tree_size", "root_hash", "timestamp")}
    checkpoint["signature"] = signing.sign(
        body, private_pem=signing.private_key_to_pem(forger), kid=kid, typ="checkpoint+jwt"
    )
    code, out = verify(write_lines(tmp_path / "cp-resigned.jsonl", export_lines), jwks_file)
    assert code == 1 and "[FORGED_CHECKPOINT]" in out and "UNKNOWN_KEY" in out


def test_a_truncated_export_has_no_checkpoint(
    export_lines: list[dict], jwks_file: Path, tmp_path: Path
) -> None:
    code, out = verify(write_lines(tmp_path / "cut.jsonl", export_lines[:-1]), jwks_file)
    assert code == 1 and "[MISSING_CHECKPOINT]" in out


def test_an_edited_event_in_a_filtered_export_fails_its_inclusion_proof(
    client: TestClient,
    make_events: Callable[[int], None],
    export_to: Callable[..., Path],
    jwks_file: Path,
    tmp_path: Path,
) -> None:
    make_events(5)
    lines = read_lines(export_to(action="organization.created"))
    assert len(lines) > 3 and "inclusion_proof" in lines[0]
    lines[1]["event"]["subjects"]["organization_id"] = "org_someoneelse"
    lines[1]["leaf_hash"] = merkle.hash_leaf(canonical_json(lines[1]["event"])).hex()
    code, out = verify(write_lines(tmp_path / "filtered.jsonl", lines), jwks_file)
    assert code == 1
    assert "[EDITED_LINE] line 2" in out and "inclusion proof does not lead" in out


def test_a_later_export_is_consistent_with_a_kept_checkpoint(
    client: TestClient,
    auditor: Org,
    make_events: Callable[[int], None],
    export_to: Callable[..., Path],
    jwks_file: Path,
    tmp_path: Path,
) -> None:
    make_events(3)
    kept = tmp_path / "kept-checkpoint.json"
    kept.write_text(client.get("/v1/audit/checkpoint", headers=auditor.headers).text)
    make_events(4)
    code, out = verify(export_to(), jwks_file, "--previous-checkpoint", str(kept))
    assert code == 0, out
    # A filtered export proves consistency with the API's consistency proof.
    previous = json.loads(kept.read_text())
    filtered = export_to(action="organization.created")
    size = read_lines(filtered)[-1]["checkpoint"]["tree_size"]
    proof = tmp_path / "consistency.json"
    proof.write_text(
        client.get(
            "/v1/audit/proofs/consistency",
            params={"from_size": previous["tree_size"], "to_size": size},
            headers=auditor.headers,
        ).text
    )
    code, out = verify(filtered, jwks_file, "--previous-checkpoint", str(kept))
    assert code == 1 and "[CONSISTENCY_UNCHECKED]" in out
    code, out = verify(
        filtered, jwks_file, "--previous-checkpoint", str(kept), "--consistency-proof", str(proof)
    )
    assert code == 0, out


def _rewrite_event(session: Session, seq: int) -> None:
    """What an operator with database access might do: bypass the append-only trigger."""
    backend = session.get_bind().dialect.name
    row = session.execute(
        text("SELECT event_json FROM audit_event WHERE seq = :s"), {"s": seq}
    ).one()
    event = json.loads(row[0])
    event["actor"] = "rewritten"
    canonical = canonical_json(event)
    if backend == "postgresql":
        session.execute(text("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only"))
    else:
        session.execute(text("DROP TRIGGER audit_event_no_update"))
    session.execute(
        text("UPDATE audit_event SET event_json = :e, leaf_hash = :h WHERE seq = :s"),
        {"e": canonical.decode(), "h": merkle.hash_leaf(canonical).hex(), "s": seq},
    )
    if backend == "postgresql":
        session.execute(text("ALTER TABLE audit_event ENABLE TRIGGER audit_event_append_only"))
    session.commit()


def test_a_log_rewritten_since_the_kept_checkpoint_fails_consistency(
    client: TestClient,
    auditor: Org,
    make_events: Callable[[int], None],
    export_to: Callable[..., Path],
    jwks_file: Path,
    tmp_path: Path,
    db_session: Session,
) -> None:
    make_events(4)
    kept = export_to()  # an old export also serves as the kept checkpoint
    _rewrite_event(db_session, 2)
    make_events(2)
    new_export = export_to()
    # The new export is self-consistent (the server signs whatever it now holds)...
    code, out = verify(new_export, jwks_file)
    assert code == 0, out
    # ...but not consistent with what the auditor saw before.
    code, out = verify(new_export, jwks_file, "--previous-checkpoint", str(kept))
    assert code == 1
    assert "[LOG_REWRITTEN]" in out and "rewritten since then" in out
    # The server's own consistency proof fails the same way.
    old = read_lines(kept)[-1]["checkpoint"]
    new = read_lines(new_export)[-1]["checkpoint"]
    body = client.get(
        "/v1/audit/proofs/consistency",
        params={"from_size": old["tree_size"], "to_size": new["tree_size"]},
        headers=auditor.headers,
    ).json()
    assert not merkle.verify_consistency(
        old["tree_size"],
        new["tree_size"],
        bytes.fromhex(old["root_hash"]),
        bytes.fromhex(new["root_hash"]),
        [bytes.fromhex(h) for h in body["consistency_proof"]],
    )


def test_verify_without_keys_or_with_a_missing_file_is_a_usage_error(
    jwks_file: Path, tmp_path: Path
) -> None:
    result = runner.invoke(cli_app, ["audit", "verify", str(tmp_path / "none.jsonl")])
    assert result.exit_code == 2
    code, _ = verify(tmp_path / "none.jsonl", jwks_file)
    assert code == 2


def test_verify_fetches_the_keys_from_the_issuer(
    live_server: str, auditor: Org, make_events: Callable[[int], None], tmp_path: Path
) -> None:
    import httpx

    make_events(2)
    path = tmp_path / "live.jsonl"
    path.write_bytes(httpx.get(f"{live_server}/v1/audit/export", headers=auditor.headers).content)
    result = runner.invoke(cli_app, ["audit", "verify", str(path), "--issuer", live_server])
    assert result.exit_code == 0, result.output


def test_the_offline_verifier_imports_nothing_of_the_server() -> None:
    import subprocess
    import sys

    code = (
        "import sys, consent_service.audit.offline; "
        "bad = [m for m in sys.modules if m.split('.')[0] in "
        "('fastapi', 'starlette', 'sqlalchemy', 'sqlmodel', 'uvicorn', 'psycopg')]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_lines_after_the_checkpoint_or_a_second_checkpoint_are_inserted(
    export_lines: list[dict], jwks_file: Path, tmp_path: Path
) -> None:
    after = [*export_lines, export_lines[2]]
    code, out = verify(write_lines(tmp_path / "after.jsonl", after), jwks_file)
    assert code == 1 and "[INSERTED_LINE]" in out and "after the checkpoint" in out
    second = [*export_lines[:3], export_lines[-1], *export_lines[3:]]
    code, out = verify(write_lines(tmp_path / "second.jsonl", second), jwks_file)
    assert code == 1 and "[INSERTED_LINE] line 4: a second checkpoint line was inserted" in out

"""`consent-service audit monitor` and `audit export` against the app served on loopback.

The monitor is run as a cron job would run it, through the CLI, over real HTTP; the log is
rewritten behind its back by changing a stored event, as a dishonest operator would.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlmodel import Session
from typer.testing import CliRunner

from consent_service.audit import monitor as monitor_module
from consent_service.audit import offline
from consent_service.audit.note import Note, Signature, parse_checkpoint, parse_note
from consent_service.cli import app as cli
from consent_service.config import Settings
from tests.audit.conftest import key_actor
from tests.audit.test_offline_verify import _rewrite_event
from tests.audit.test_witness import EM_DASH, raw, spec_cosign, spec_vkey
from tests.conftest import Org

WITNESS = "witness.example/w1"


@pytest.fixture
def witness_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def settings(settings: Settings, witness_key: Ed25519PrivateKey) -> Settings:
    vkey = spec_vkey(WITNESS, 0x04, raw(witness_key.public_key()))
    return settings.model_copy(update={"audit_witnesses": vkey})


@pytest.fixture
def monitor(live_server: str, auditor: Org, tmp_path: Path) -> Callable[..., tuple[int, str, str]]:
    """Run the monitor with the auditor's key (or `key=`: an admin's, where a test needs the
    log to stay still: each of an auditor's reads is an event of the log)."""
    state = tmp_path / "state"
    state.mkdir()

    def run(*args: str, key: str | None = None) -> tuple[int, str, str]:
        result = CliRunner().invoke(
            cli,
            ["audit", "monitor", "--state", str(state), "--url", live_server, *args],
            env={"CONSENT_AUDITOR_KEY": key or auditor.key},
        )
        return result.exit_code, result.stdout, result.stderr

    run.state = state  # type: ignore[attr-defined]
    return run


def _log_key(client: TestClient) -> str:
    return client.get("/v1/audit/checkpoint/verifier-key").text.strip()


def _rewrite_first_event(app: FastAPI) -> None:
    """What a dishonest operator would do: change a stored event (and its leaf hash)."""
    with Session(app.state.services.engine) as session:
        _rewrite_event(session, 0)
        session.execute(text("DELETE FROM audit_subtree"))
        session.commit()


def test_the_monitor_keeps_a_checkpoint_and_checks_the_next_extends_it(
    client: TestClient,
    auditor: Org,
    admin_headers: dict[str, str],
    monitor: Callable[..., tuple[int, str, str]],
    make_events: Callable[[int], None],
) -> None:
    code, out, err = monitor()
    assert code == 2 and "--log-key" in err  # the first run needs the log's key
    make_events(3)
    code, out, err = monitor("--log-key", _log_key(client))
    assert code == 0, err
    assert out.startswith("OK testserver/audit-log size=") and "witnesses=-" in out
    state: Path = monitor.state  # type: ignore[attr-defined]
    assert (state / "checkpoint.note").read_text().startswith("testserver/audit-log\n")
    make_events(2)
    code, out, err = monitor("--quiet")
    assert (code, out, err) == (0, "", "")  # cron mails nothing when all holds
    code, out, _ = monitor()
    # Nothing happened since the quiet run but its own two reads (the checkpoint and the
    # consistency proof): an auditor's reads of the log are events of the log.
    assert code == 0 and "grew_by=2" in out
    items = client.get("/v1/audit/events", params={"limit": 1000}, headers=admin_headers)
    tail = [i["event"] for i in items.json()["items"][-4:]]
    actor = key_actor(client, admin_headers, auditor)
    assert [(e["action"], e["actor"]) for e in tail] == [("auditor.read", actor)] * 4
    kinds = [e["payload"]["reads"][0]["kind"] for e in tail]
    assert kinds == ["audit_checkpoint", "audit_consistency_proof"] * 2
    assert len((state / "history.log").read_text().splitlines()) == 3
    # Another key given later than the kept one is refused, not silently swapped.
    other = spec_vkey("testserver/audit-log", 0x01, raw(Ed25519PrivateKey.generate().public_key()))
    code, _, err = monitor("--log-key", other)
    assert code == 2 and "differs" in err


def test_a_rewritten_log_is_a_fork_at_the_same_size_and_after_growth(
    app: FastAPI,
    client: TestClient,
    admin_key: str,
    monitor: Callable[..., tuple[int, str, str]],
    make_events: Callable[[int], None],
) -> None:
    make_events(4)
    # An admin's key: the log keeps its size between the runs (an auditor's reads add events).
    assert monitor("--log-key", _log_key(client), key=admin_key)[0] == 0
    state: Path = monitor.state  # type: ignore[attr-defined]
    kept = (state / "checkpoint.note").read_text()
    _rewrite_first_event(app)
    code, out, err = monitor(key=admin_key)
    assert code == 1 and err.startswith("FORK: two different roots"), err
    assert (state / "checkpoint.note").read_text() == kept  # the evidence is not overwritten
    assert list(state.glob("fork-*.note"))
    make_events(3)  # the rewritten log grows: the consistency proof cannot hold
    code, out, err = monitor()
    assert code == 1 and "consistency proof fails" in err, err
    assert (state / "checkpoint.note").read_text() == kept


def test_the_monitor_checks_the_cosignatures_of_the_witnesses_it_trusts(
    client: TestClient,
    admin_headers: dict[str, str],
    monitor: Callable[..., tuple[int, str, str]],
    make_events: Callable[[int], None],
    witness_key: Ed25519PrivateKey,
) -> None:
    make_events(2)
    trusted = spec_vkey(WITNESS, 0x04, raw(witness_key.public_key()))
    args = ("--log-key", _log_key(client), "--witness", trusted, "--min-witnesses", "1")
    code, _, err = monitor(*args)
    assert code == 3 and err.startswith("NOT WITNESSED")
    state: Path = monitor.state  # type: ignore[attr-defined]
    assert not (state / "checkpoint.note").exists()  # an unwitnessed head is not kept
    # The witness reads the head with an admin's key: an auditor's read would move it.
    _cosign_latest(client, admin_headers, witness_key)
    code, out, err = monitor(*args)
    assert code == 0, err
    assert f"witnesses={WITNESS}" in out
    # A witness the user does not trust counts for nothing.
    stranger = spec_vkey("other.example/w", 0x04, raw(Ed25519PrivateKey.generate().public_key()))
    code, _, err = monitor("--witness", stranger, "--min-witnesses", "1")
    assert code == 3


def test_the_export_command_downloads_a_filtered_export_that_verifies(
    live_server: str,
    auditor: Org,
    holder: object,
    tmp_path: Path,
    jwks_file: Path,
    make_events: Callable[[int], None],
) -> None:
    make_events(3)
    holder_id = holder.id  # type: ignore[attr-defined]
    for fmt in ("jsonl", "csv"):
        target = tmp_path / f"holder.{fmt}"
        result = CliRunner().invoke(
            cli,
            [
                "audit",
                "export",
                "--url",
                live_server,
                "--holder-id",
                holder_id,
                "--format",
                fmt,
                "-o",
                str(target),
            ],
            env={"CONSENT_AUDITOR_KEY": auditor.key},
        )
        assert result.exit_code == 0, result.output
        assert result.stdout.startswith("wrote ") and result.stderr == ""  # no TTY: no progress
        report = offline.verify_file(target, keys=offline.load_jwks_file(jwks_file))
        assert report.ok and report.format == fmt and report.events >= 1
    result = CliRunner().invoke(
        cli,
        ["audit", "export", "--url", live_server, "--action", "nope", "-o", str(tmp_path / "x")],
        env={"CONSENT_AUDITOR_KEY": auditor.key},
    )
    assert result.exit_code == 2 and "unknown action" in result.stderr
    assert not (tmp_path / "x").exists()


def test_em_dash_and_base64_helpers_are_the_specs() -> None:
    # Guards the shared test helpers against drift: a cosignature line is '— name base64'.
    line = spec_cosign(
        "o\n1\n" + base64.b64encode(b"\0" * 32).decode() + "\n\n— o AAAA\n",
        "w",
        Ed25519PrivateKey.generate(),
        when=int(time.time()),
    )
    assert line.startswith(EM_DASH + " w ") and len(base64.b64decode(line.split()[-1])) == 76


# -- a log that grows with every read: the newest witnessed head is kept -------------------------


def _cosign_latest(
    client: TestClient, admin_headers: dict[str, str], witness_key: Ed25519PrivateKey
) -> int:
    """The witness cosigns the head it reads now (with an admin's key, which appends nothing);
    its size."""
    signed = client.get(
        "/v1/audit/checkpoint", headers={**admin_headers, "Accept": "text/plain"}
    ).text
    r = client.post(
        "/v1/audit/checkpoint/cosignatures",
        content=(signed + spec_cosign(signed, WITNESS, witness_key)).encode(),
        headers={"Content-Type": "text/plain"},
    )
    assert r.status_code == 201, r.text
    return int(r.json()["tree_size"])


def _kept(state: Path) -> tuple[int, list[str]]:
    """The kept checkpoint's size and the names on its signature lines."""
    kept = parse_note((state / "checkpoint.note").read_bytes())
    return parse_checkpoint(kept.text).tree_size, [s.name for s in kept.signatures]


def _witnessed_args(client: TestClient, witness_key: Ed25519PrivateKey) -> tuple[str, ...]:
    trusted = spec_vkey(WITNESS, 0x04, raw(witness_key.public_key()))
    return ("--log-key", _log_key(client), "--witness", trusted, "--min-witnesses", "1")


def test_a_log_grown_since_its_witnessed_head_keeps_that_head_and_moves_on_with_the_witness(
    client: TestClient,
    admin_headers: dict[str, str],
    monitor: Callable[..., tuple[int, str, str]],
    make_events: Callable[[int], None],
    witness_key: Ed25519PrivateKey,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # One head a page: the walk down the history goes page by page (`next_before`).
    monkeypatch.setattr(monitor_module, "HISTORY_PAGE", 1)
    state: Path = monitor.state  # type: ignore[attr-defined]
    make_events(2)
    first = _cosign_latest(client, admin_headers, witness_key)
    make_events(2)  # the log grows after the witness cosigned
    args = _witnessed_args(client, witness_key)
    code, out, err = monitor(*args)
    assert code == 0, err
    assert out.startswith(f"OK testserver/audit-log size={first + 2} ")
    assert "not yet witnessed" in out
    assert f"kept the newest witnessed head size={first} " in out
    assert _kept(state) == (first, ["testserver/audit-log", WITNESS])
    # Again at once: the log grew by the monitor's own reads only; the kept head is still the
    # newest witnessed one (it extends itself), the latest is checked against it.
    code, out, err = monitor(*args)
    assert code == 0, err
    assert f"kept the newest witnessed head size={first} " in out
    assert _kept(state)[0] == first
    # The witness cosigns again (the monitor's reads included): the kept state moves forward.
    second = _cosign_latest(client, admin_headers, witness_key)
    assert second > first + 2
    make_events(1)
    code, out, err = monitor(*args)
    assert code == 0, err
    assert f"kept the newest witnessed head size={second} " in out
    assert _kept(state) == (second, ["testserver/audit-log", WITNESS])
    history = [line.split(" ") for line in (state / "history.log").read_text().splitlines()]
    assert [(int(h[1]), h[3], h[4]) for h in history] == [
        (first, WITNESS, "why=newest-witnessed"),
        (first, WITNESS, "why=newest-witnessed"),
        (second, WITNESS, "why=newest-witnessed"),
    ]
    assert int(history[-1][5].removeprefix("latest=")) == second + 1
    # The walks went page by page: a read of the history continued where the one before ended.
    events = client.get("/v1/audit/events", params={"limit": 1000}, headers=admin_headers)
    pages = [
        read
        for item in events.json()["items"]
        if item["event"]["action"] == "auditor.read"
        for read in item["event"]["payload"]["reads"]
        if read["kind"] == "audit_checkpoints"
    ]
    assert all(page["limit"] == 1 for page in pages)
    assert any(
        later["before"] == earlier["tree_sizes"][-1]
        for earlier, later in zip(pages, pages[1:], strict=False)
    )
    # When the latest itself is cosigned it is kept as before, for that reason.
    latest = _cosign_latest(client, admin_headers, witness_key)
    code, out, err = monitor(*args)
    assert code == 0 and out.startswith(f"OK testserver/audit-log size={latest} "), err
    assert "not yet witnessed" not in out
    assert (state / "history.log").read_text().splitlines()[-1].endswith(f"{WITNESS} why=latest")


def test_no_witnessed_head_at_or_past_the_kept_one_is_exit_3_and_keeps_nothing_new(
    client: TestClient,
    admin_headers: dict[str, str],
    admin_key: str,
    monitor: Callable[..., tuple[int, str, str]],
    make_events: Callable[[int], None],
    witness_key: Ed25519PrivateKey,
) -> None:
    state: Path = monitor.state  # type: ignore[attr-defined]
    make_events(3)
    args = _witnessed_args(client, witness_key)
    code, _, err = monitor(*args)  # first run, nothing witnessed at all
    assert code == 3 and err.startswith("NOT WITNESSED"), err
    assert "no head in the history has them" in err
    assert not (state / "checkpoint.note").exists()
    # A head witnessed BELOW the kept one does not count: the walk stops at the kept size.
    _cosign_latest(client, admin_headers, witness_key)
    make_events(2)
    assert monitor("--min-witnesses", "0", key=admin_key)[0] == 0
    kept = (state / "checkpoint.note").read_text()
    make_events(1)
    code, _, err = monitor(*args[2:])
    assert code == 3 and "no head at or past the kept size" in err, err
    assert (state / "checkpoint.note").read_text() == kept


def test_a_rewrite_between_the_kept_head_and_the_witnessed_head_is_a_fork(
    app: FastAPI,
    client: TestClient,
    admin_headers: dict[str, str],
    admin_key: str,
    monitor: Callable[..., tuple[int, str, str]],
    make_events: Callable[[int], None],
    witness_key: Ed25519PrivateKey,
) -> None:
    state: Path = monitor.state  # type: ignore[attr-defined]
    make_events(3)
    assert monitor("--log-key", _log_key(client), key=admin_key)[0] == 0
    kept_size, _ = _kept(state)
    kept = (state / "checkpoint.note").read_text()
    make_events(3)
    witnessed = _cosign_latest(client, admin_headers, witness_key)
    make_events(2)
    # An event after the kept head and under the witnessed one is changed.
    with Session(app.state.services.engine) as session:
        _rewrite_event(session, kept_size + 1)
        session.execute(text("DELETE FROM audit_subtree"))
        session.commit()
    code, _, err = monitor(*_witnessed_args(client, witness_key)[2:])
    assert code == 1 and "FORK" in err, err
    assert f"witnessed head of size {witnessed}" in err
    assert (state / "checkpoint.note").read_text() == kept
    assert list(state.glob("fork-*.note"))


def test_a_forged_cosignature_in_the_history_is_not_counted(
    app: FastAPI,
    client: TestClient,
    admin_headers: dict[str, str],
    monitor: Callable[..., tuple[int, str, str]],
    make_events: Callable[[int], None],
    witness_key: Ed25519PrivateKey,
) -> None:
    state: Path = monitor.state  # type: ignore[attr-defined]
    make_events(2)
    witnessed = _cosign_latest(client, admin_headers, witness_key)
    make_events(1)
    # The stored line is swapped for the witness's cosignature of another head: the same name
    # and key ID, a signature that does not verify over this head.
    other = client.get(
        "/v1/audit/checkpoint",
        params={"tree_size": 1},
        headers={**admin_headers, "Accept": "text/plain"},
    ).text
    forged = spec_cosign(other, WITNESS, witness_key)
    with Session(app.state.services.engine) as session:
        session.execute(
            text("UPDATE audit_cosignature SET signature_line = :l WHERE tree_size = :s"),
            {"l": forged, "s": witnessed},
        )
        session.commit()
    code, _, err = monitor(*_witnessed_args(client, witness_key))
    assert code == 3 and err.startswith("NOT WITNESSED"), err
    assert f"not counted, not verifying: {WITNESS} on size {witnessed}" in err
    assert not (state / "checkpoint.note").exists()


def test_a_witnessed_head_of_the_history_not_signed_by_the_log_is_forged(
    app: FastAPI,
    client: TestClient,
    admin_headers: dict[str, str],
    monitor: Callable[..., tuple[int, str, str]],
    make_events: Callable[[int], None],
    witness_key: Ed25519PrivateKey,
) -> None:
    state: Path = monitor.state  # type: ignore[attr-defined]
    make_events(2)
    witnessed = _cosign_latest(client, admin_headers, witness_key)
    make_events(1)
    # The kept note's log signature is replaced (same key name and ID, bytes that do not
    # verify); the witness's cosignature over the text still does.
    with Session(app.state.services.engine) as session:
        (stored,) = session.execute(
            text("SELECT note FROM audit_signed_checkpoint WHERE tree_size = :s"),
            {"s": witnessed},
        ).one()
        kept = parse_note(stored)
        (log_line,) = kept.signatures
        bad = Note(kept.text, (Signature(log_line.name, log_line.key_id, bytes(64)),))
        session.execute(
            text("UPDATE audit_signed_checkpoint SET note = :n WHERE tree_size = :s"),
            {"n": str(bad), "s": witnessed},
        )
        session.commit()
    code, _, err = monitor(*_witnessed_args(client, witness_key))
    assert code == 1 and err.startswith(f"FORGED: the witnessed head of size {witnessed}"), err
    assert not (state / "checkpoint.note").exists()
    assert list(state.glob("forged-*.note"))

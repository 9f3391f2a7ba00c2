"""`consent-service audit monitor`: watch the log from cron, as Certificate Transparency
monitors do, and `audit export`'s download.

Each run fetches the latest checkpoint note (`GET /v1/audit/checkpoint`, `Accept: text/plain`),
checks the log's signature with the log key kept in the state directory, checks the
cosignatures of the witnesses the user trusts, and checks that the new checkpoint extends the
one kept from the last run (RFC 9162 consistency proof). Only then is the new one kept.

Exit codes: 0 all holds; 1 the log forked or was rewritten, or a signature does not verify
(the conflicting note is kept in the state directory as evidence); 2 the run could not be made
(network, state, arguments); 3 fewer trusted cosignatures than asked for.

Pure: the standard library, `audit.note` and `audit.merkle`; nothing of the server.
"""

from __future__ import annotations

import base64
import json
import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from consent_service.audit import merkle, note

OK, FAILED, CANNOT_RUN, NOT_WITNESSED = 0, 1, 2, 3
LOG_KEY_FILE = "log.vkey"
CHECKPOINT_FILE = "checkpoint.note"
HISTORY_FILE = "history.log"


class MonitorError(Exception):
    """The run cannot be made (exit 2)."""


@dataclass
class Outcome:
    code: int
    message: str
    checkpoint: note.Checkpoint | None = None
    witnesses: list[str] = field(default_factory=list)


class Client:
    """GETs against the registry with an auditor's key (urllib: nothing to install)."""

    def __init__(self, base_url: str, api_key: str | None, *, timeout: float = 30.0) -> None:
        if not base_url.startswith(("https://", "http://")):
            raise MonitorError("the registry URL must be http(s)")
        self.base = base_url.rstrip("/")
        self.api_key = api_key
        self.timeout = timeout

    def open(self, path: str, params: dict[str, Any] | None = None, *, accept: str) -> Any:
        query = "?" + urllib.parse.urlencode(params) if params else ""
        request = urllib.request.Request(self.base + path + query, headers={"Accept": accept})
        if self.api_key:
            request.add_header("Authorization", f"Bearer {self.api_key}")
        try:
            return urllib.request.urlopen(request, timeout=self.timeout)  # noqa: S310
        except urllib.error.HTTPError as exc:
            detail = exc.read(4096).decode("utf-8", errors="replace")
            try:
                detail = json.loads(detail).get("detail", detail)
            except (ValueError, AttributeError):
                pass
            raise MonitorError(f"{path}: HTTP {exc.code}: {detail}") from None
        except (OSError, ValueError) as exc:
            raise MonitorError(f"{path}: {exc}") from None

    def get(self, path: str, params: dict[str, Any] | None = None, *, accept: str) -> bytes:
        with self.open(path, params, accept=accept) as response:
            data: bytes = response.read(1_000_000)
            return data


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _log_key(state: Path, given: str | None) -> note.Verifier:
    kept = state / LOG_KEY_FILE
    try:
        stored = kept.read_text(encoding="utf-8").strip() if kept.exists() else None
        if given is not None:
            verifier = note.parse_verifier_key(given)
            if stored is not None and stored != verifier.vkey:
                raise MonitorError(
                    f"--log-key differs from the key kept in {kept}: a log key does not change "
                    "silently; remove the state directory to start over on purpose"
                )
            if stored is None:
                _write_atomically(kept, verifier.vkey + "\n")
            return verifier
        if stored is None:
            raise MonitorError(
                "first run: give --log-key (GET /v1/audit/checkpoint/verifier-key, checked "
                "out of band); it is kept in the state directory"
            )
        return note.parse_verifier_key(stored)
    except note.NoteError as exc:
        raise MonitorError(f"log key: {exc}") from exc


def run(
    state: Path,
    client: Client,
    *,
    log_key: str | None,
    witnesses: Sequence[note.Verifier],
    min_witnesses: int,
    step: Callable[[int, int], None] = lambda done, events: None,
) -> Outcome:
    """One monitoring run (see the module docstring). `step(done, events)` reports progress:
    4 steps, and the events whose history the consistency check covered."""
    if not state.is_dir():
        raise MonitorError(f"{state} is not a directory")
    log = _log_key(state, log_key)
    # 1. The latest checkpoint, signed by the log.
    raw = client.get("/v1/audit/checkpoint", accept="text/plain")
    step(1, 0)
    try:
        fetched = note.parse_note(raw)
        head = note.parse_checkpoint(fetched.text)
    except note.NoteError as exc:
        return Outcome(FAILED, f"BAD CHECKPOINT: {exc}")
    signed = [s for s in fetched.signatures if (s.name, s.key_id) == (log.name, log.key_id)]
    if not signed or any(log.verify(fetched.text, s) is None for s in signed):
        _keep_evidence(state, "forged", raw)
        return Outcome(FAILED, f"FORGED: the checkpoint is not signed by the log key {log.name}")
    if head.origin != log.name:
        return Outcome(FAILED, f"WRONG LOG: the checkpoint is of {head.origin!r}, not {log.name}")
    # 2. Cosignatures of the trusted witnesses (any other signature line is ignored).
    cosigned: list[str] = []
    for witness in witnesses:
        lines = [
            s for s in fetched.signatures if (s.name, s.key_id) == (witness.name, witness.key_id)
        ]
        for signature in lines:
            if witness.verify(fetched.text, signature) is None:
                _keep_evidence(state, "bad-cosignature", raw)
                return Outcome(
                    FAILED, f"BAD COSIGNATURE: {witness.name}'s cosignature does not verify"
                )
        if lines:
            cosigned.append(witness.name)
    step(1, 0)
    # 3. Consistency with the checkpoint kept from the last run.
    kept_path = state / CHECKPOINT_FILE
    grew = head.tree_size
    if kept_path.exists():
        try:
            old = note.parse_checkpoint(note.parse_note(kept_path.read_bytes()).text)
        except (note.NoteError, OSError) as exc:
            raise MonitorError(f"the kept checkpoint {kept_path} cannot be read: {exc}") from exc
        if old.origin != head.origin:
            raise MonitorError(f"the kept checkpoint is of another log ({old.origin})")
        problem = _inconsistency(client, old, head)
        if problem is not None:
            _keep_evidence(state, "fork", raw)
            return Outcome(FAILED, problem, head, cosigned)
        grew = head.tree_size - old.tree_size
    step(1, grew)
    # 4. Enough witnesses: then (only then) keep the new checkpoint.
    if len(cosigned) < min_witnesses:
        return Outcome(
            NOT_WITNESSED,
            f"NOT WITNESSED: {len(cosigned)} trusted cosignature(s) on size {head.tree_size}, "
            f"{min_witnesses} required",
            head,
            cosigned,
        )
    _write_atomically(kept_path, raw.decode("utf-8"))
    with (state / HISTORY_FILE).open("a", encoding="utf-8") as history:
        history.write(
            f"{datetime.now(UTC).isoformat(timespec='seconds')} {head.tree_size} "
            f"{_b64(head.root_hash)} {','.join(cosigned) or '-'}\n"
        )
    step(1, 0)
    return Outcome(
        OK,
        f"OK {head.origin} size={head.tree_size} root={_b64(head.root_hash)} "
        f"grew_by={grew} witnesses={','.join(cosigned) or '-'}",
        head,
        cosigned,
    )


def _inconsistency(client: Client, old: note.Checkpoint, new: note.Checkpoint) -> str | None:
    """None when `new` extends `old`; else what is wrong."""
    if new.tree_size < old.tree_size:
        return (
            f"ROLLBACK: the log has {new.tree_size} events, the kept checkpoint "
            f"{old.tree_size}: the log was truncated or rewritten"
        )
    if new.tree_size == old.tree_size:
        if new.root_hash != old.root_hash:
            return (
                f"FORK: two different roots for size {new.tree_size}: the log was rewritten "
                "or shows different histories"
            )
        return None
    if old.tree_size == 0:
        return None
    try:
        body = json.loads(
            client.get(
                "/v1/audit/proofs/consistency",
                {"from_size": old.tree_size, "to_size": new.tree_size},
                accept="application/json",
            )
        )
        path = [bytes.fromhex(h) for h in body["consistency_proof"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise MonitorError(f"the consistency proof cannot be read: {exc}") from exc
    if not merkle.verify_consistency(
        old.tree_size, new.tree_size, old.root_hash, new.root_hash, path
    ):
        return (
            f"FORK: size {new.tree_size} does not extend the kept checkpoint of size "
            f"{old.tree_size} (consistency proof fails): the log was rewritten"
        )
    return None


def _keep_evidence(state: Path, kind: str, raw: bytes) -> None:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    (state / f"{kind}-{stamp}.note").write_bytes(raw)


def download(
    client: Client,
    params: dict[str, str],
    target: Path,
    *,
    step: Callable[[int, int], None],
    started: Callable[[int], None],
) -> int:
    """Stream `GET /v1/audit/export` into `target`; the number of event lines written.

    `started(tree_size)` is called with the export's tree size (its `Audit-Tree-Size`);
    `step(seqs, events)` as lines arrive: how far through the log (by seq) and events written.
    """
    accept = "text/csv" if params.get("format") == "csv" else "application/jsonl"
    events = 0
    position = 0
    tmp = target.with_name(target.name + ".part")
    with client.open("/v1/audit/export", params, accept=accept) as response:
        started(int(response.headers.get("Audit-Tree-Size") or 0))
        with tmp.open("wb") as out:
            for line in response:
                out.write(line)
                seq = _leading_seq(line)
                if seq is None:
                    continue
                events += 1
                step(seq + 1 - position, 1)
                position = seq + 1
    os.replace(tmp, target)
    return events


def _leading_seq(line: bytes) -> int | None:
    """The seq of an event line of either format (`{"seq": N, …` or `N,…`), else None."""
    head = line[:32]
    if head.startswith(b'{"seq": '):
        digits = head[8:].split(b",", 1)[0]
    else:
        digits = head.split(b",", 1)[0]
    return int(digits) if digits.isdigit() else None

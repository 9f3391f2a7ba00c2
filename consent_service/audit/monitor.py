"""`consent-service audit monitor`: watch the log from cron, as Certificate Transparency
monitors do, and `audit export`'s download.

Each run fetches the latest checkpoint note (`GET /v1/audit/checkpoint`, `Accept: text/plain`),
checks the log's signature with the log key kept in the state directory, checks the
cosignatures of the witnesses the user trusts, and checks that the latest checkpoint extends
the one kept from the last run (RFC 9162 consistency proof).

What is kept: the latest checkpoint when it carries `min_witnesses` trusted cosignatures.
Witnesses cosign a head some time after it is signed, and the log grows with every read an
auditor makes, so the latest usually carries none yet. Then the run walks the registry's kept
history of heads (`GET /v1/audit/checkpoints`, newest first, from the latest size down to the
kept one, no further) for the newest head with enough trusted cosignatures, checks its log
signature, its cosignatures, that it extends the kept checkpoint and that the latest extends
it, and keeps that head. Each kept head adds a line to `history.log`: time, size, root,
witnesses, and why it was kept (`why=latest`, or `why=newest-witnessed latest=<size>`).

Exit codes: 0 all holds; 1 the log forked or was rewritten, or a signature does not verify
(the conflicting note is kept in the state directory as evidence); 2 the run could not be made
(network, state, arguments); 3 no head at or past the kept one (on a first run: no head at all)
has `min_witnesses` trusted cosignatures. A cosignature of the history that does not verify is
not counted (the registry checked it when it came in: it is named in the message).

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
    old: note.Checkpoint | None = None
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
    # 4. Enough witnesses on the latest: keep it.
    summary = f"{head.origin} size={head.tree_size} root={_b64(head.root_hash)} grew_by={grew}"
    if len(cosigned) >= min_witnesses:
        _keep(state, raw.decode("utf-8"), head, cosigned, "why=latest")
        step(1, 0)
        return Outcome(OK, f"OK {summary} witnesses={','.join(cosigned) or '-'}", head, cosigned)
    # 5. Else the newest head of the registry's history that enough trusted witnesses cosigned,
    # at or past the kept one, between the kept one and the latest.
    floor = old.tree_size if old is not None else 0
    found, ignored = _newest_witnessed(client, log, witnesses, min_witnesses, head, floor)
    unwitnessed = (
        f"{len(cosigned)} trusted cosignature(s) on size {head.tree_size}, {min_witnesses} required"
    )
    if found is None:
        where = f"at or past the kept size {floor}" if old is not None else "in the history"
        return Outcome(
            NOT_WITNESSED,
            f"NOT WITNESSED: {unwitnessed}, and no head {where} has them{ignored}",
            head,
            cosigned,
        )
    witnessed, signed_note, names = found
    by_log = [s for s in signed_note.signatures if (s.name, s.key_id) == (log.name, log.key_id)]
    if not by_log or any(log.verify(signed_note.text, s) is None for s in by_log):
        _keep_evidence(state, "forged", str(signed_note).encode("utf-8"))
        return Outcome(
            FAILED,
            f"FORGED: the witnessed head of size {witnessed.tree_size} in the history is not "
            f"signed by the log key {log.name}",
            witnessed,
            names,
        )
    if witnessed.origin != log.name:
        return Outcome(
            FAILED,
            f"WRONG LOG: the witnessed head of size {witnessed.tree_size} is of "
            f"{witnessed.origin!r}, not {log.name}",
        )
    for before, after in ((old, witnessed), (witnessed, head)):
        problem = None if before is None else _inconsistency(client, before, after)
        if problem is not None:
            _keep_evidence(state, "fork", str(signed_note).encode("utf-8"))
            return Outcome(
                FAILED,
                f"{problem} (the witnessed head of size {witnessed.tree_size})",
                witnessed,
                names,
            )
    _keep(
        state,
        str(signed_note),
        witnessed,
        names,
        f"why=newest-witnessed latest={head.tree_size}",
    )
    step(1, 0)
    return Outcome(
        OK,
        f"OK {summary} consistent, not yet witnessed ({unwitnessed}); kept the newest "
        f"witnessed head size={witnessed.tree_size} root={_b64(witnessed.root_hash)} "
        f"witnesses={','.join(names)}{ignored}",
        witnessed,
        names,
    )


def _keep(state: Path, signed: str, head: note.Checkpoint, witnesses: list[str], why: str) -> None:
    """Keep `signed` as the checkpoint of the next run, and say so in the history."""
    _write_atomically(state / CHECKPOINT_FILE, signed)
    with (state / HISTORY_FILE).open("a", encoding="utf-8") as history:
        history.write(
            f"{datetime.now(UTC).isoformat(timespec='seconds')} {head.tree_size} "
            f"{_b64(head.root_hash)} {','.join(witnesses) or '-'} {why}\n"
        )


HISTORY_PAGE = 100


def _newest_witnessed(
    client: Client,
    log: note.Verifier,
    witnesses: Sequence[note.Verifier],
    needed: int,
    latest: note.Checkpoint,
    floor: int,
) -> tuple[tuple[note.Checkpoint, note.Note, list[str]] | None, str]:
    """Walk `GET /v1/audit/checkpoints` newest first from `latest` down to `floor` for the
    newest head with `needed` trusted cosignatures that verify. Returns that head, its note
    with those cosignatures, and their witnesses' names (or None), and a remark naming the
    cosignatures that did not verify and were not counted ('' when none)."""
    ignored: list[str] = []
    before: int | None = latest.tree_size + 1  # heads signed after `latest` are not checked
    while before is not None and before > floor:
        try:
            page = json.loads(
                client.get(
                    "/v1/audit/checkpoints",
                    {"before": before, "limit": HISTORY_PAGE},
                    accept="application/json",
                )
            )
            items, following = page["items"], page["next_before"]
        except (ValueError, KeyError, TypeError) as exc:
            raise MonitorError(f"the checkpoint history cannot be read: {exc}") from exc
        for item in items:
            try:
                signed = note.parse_note(str(item["note"]))
                head = note.parse_checkpoint(signed.text)  # the signed size, not item["tree_size"]
                lines = [str(c["signature_line"]) for c in item["cosignatures"]]
            except (note.NoteError, ValueError, KeyError, TypeError) as exc:
                raise MonitorError(
                    f"a head of the checkpoint history cannot be read: {exc}"
                ) from exc
            size = head.tree_size
            if size < floor:
                return None, _remark(ignored)
            counted: list[str] = []
            kept_lines: list[note.Signature] = []
            for line in lines:
                try:
                    (cosignature,) = note.parse_note(signed.text + "\n" + line).signatures
                except (note.NoteError, ValueError):
                    continue
                for witness in witnesses:
                    if (cosignature.name, cosignature.key_id) != (witness.name, witness.key_id):
                        continue
                    if witness.verify(signed.text, cosignature) is None:
                        ignored.append(f"{witness.name} on size {size}")
                    elif witness.name not in counted:
                        counted.append(witness.name)
                        kept_lines.append(cosignature)
            if len(counted) >= needed:
                cosigned = note.Note(signed.text, signed.signatures + tuple(kept_lines))
                return (head, cosigned, counted), _remark(ignored)
        if following is not None and following >= before:
            raise MonitorError("the checkpoint history pages do not go back: stopped")
        before = following
    return None, _remark(ignored)


def _remark(ignored: list[str]) -> str:
    if not ignored:
        return ""
    return "; not counted, not verifying: " + ", ".join(ignored)


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

"""Offline verification of an audit export (JSON Lines or CSV, told apart by content).

Needs no server and no database: only the export file, the service's public keys (a JWKS file,
or the issuer URL to fetch `/.well-known/jwks.json` from) and, optionally, a checkpoint the
auditor kept from an earlier export. Uses the standard library, `audit/merkle.py`, the RFC 8785
canonicaliser and the ES256 checks of `crypto/signing.py`; it imports nothing of the server.

Checks, in order (each failure is a `Finding` with a stable code and the line it concerns):

1. The checkpoint line exists, is last, and its signature verifies with the service's keys;
   its fields are the ones the signature covers (else FORGED_CHECKPOINT).
2. Every event line is well formed and its event hashes to its `leaf_hash`
   (`SHA-256(0x00 || JCS(event))`) (else EDITED_LINE).
3. Sequence numbers: no seq twice and none beyond the checkpoint (else INSERTED_LINE), in
   increasing order (else REORDERED_EVENTS); in a complete export every seq below the tree size
   is present (else DROPPED_EVENTS).
4. A complete export: the leaves recompute the checkpoint's root (else ROOT_MISMATCH).
   A filtered export: every event's inclusion proof leads to the checkpoint's root (else
   EDITED_LINE: the event and its leaf hash were changed together, or it is not in the log).
5. With a previous checkpoint (itself signature-checked): the log at that size is unchanged:
   recomputed from the leaves of a complete export, or from a consistency proof for a filtered
   one (else LOG_REWRITTEN).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jose.backends.base import Key as JoseKey

from consent_service.audit import merkle
from consent_service.canonical import canonical_json
from consent_service.crypto import signing

CHECKPOINT_TYP = "checkpoint+jwt"
_HEX64 = re.compile(r"^[0-9a-f]{64}$")
# An event line exactly as the export writes it (complete export), for the fast path.
_SERVICE_LINE = re.compile(
    rb'\{"seq": (0|[1-9][0-9]{0,15}), "leaf_hash": "([0-9a-f]{64})", "event": (\{.*\})\}\r?\n?',
    re.DOTALL,
)
_decode = json.JSONDecoder().decode
_sha256 = hashlib.sha256
# Beyond this many findings of one kind, only the count grows (a wholly rewritten file).
MAX_FINDINGS_PER_CODE = 20

EDITED_LINE = "EDITED_LINE"
DROPPED_EVENTS = "DROPPED_EVENTS"
REORDERED_EVENTS = "REORDERED_EVENTS"
INSERTED_LINE = "INSERTED_LINE"
MALFORMED_LINE = "MALFORMED_LINE"
MISSING_CHECKPOINT = "MISSING_CHECKPOINT"
FORGED_CHECKPOINT = "FORGED_CHECKPOINT"
ROOT_MISMATCH = "ROOT_MISMATCH"
LOG_REWRITTEN = "LOG_REWRITTEN"
CONSISTENCY_UNCHECKED = "CONSISTENCY_UNCHECKED"


@dataclass(frozen=True)
class Finding:
    code: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"line {self.line}: " if self.line is not None else ""
        return f"[{self.code}] {where}{self.message}"


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    suppressed: dict[str, int] = field(default_factory=dict)
    events: int = 0
    complete: bool = True
    checkpoint: dict[str, Any] | None = None
    # What the file was recognised as, by its content: "jsonl" or "csv".
    format: str = "jsonl"

    @property
    def ok(self) -> bool:
        return not self.findings and not self.suppressed

    def add(self, code: str, message: str, line: int | None = None) -> None:
        if sum(1 for f in self.findings if f.code == code) >= MAX_FINDINGS_PER_CODE:
            self.suppressed[code] = self.suppressed.get(code, 0) + 1
            return
        self.findings.append(Finding(code, message, line))

    def codes(self) -> set[str]:
        return {f.code for f in self.findings} | set(self.suppressed)


class VerifierInputError(Exception):
    """A key set or checkpoint file given to the verifier cannot be read."""


# -- inputs -------------------------------------------------------------------------------------


def load_jwks_file(path: Path) -> dict[str, JoseKey]:
    """kid → key from a JWKS file (e.g. a saved copy of /.well-known/jwks.json)."""
    try:
        keys = signing.keys_from_jwks(json.loads(path.read_bytes()))
    except (OSError, ValueError) as exc:
        raise VerifierInputError(f"cannot read the key set {path}: {exc}") from exc
    if not keys:
        raise VerifierInputError(f"{path} holds no ES256 P-256 signing key")
    return keys


def fetch_jwks(issuer: str, *, timeout: float = 10.0) -> dict[str, JoseKey]:
    """kid → key from `<issuer>/.well-known/jwks.json`."""
    url = issuer.rstrip("/") + "/.well-known/jwks.json"
    if not url.startswith(("https://", "http://")):
        raise VerifierInputError("the issuer must be an http(s) URL")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310
            keys = signing.keys_from_jwks(json.loads(response.read(1_000_000)))
    except (OSError, ValueError) as exc:
        raise VerifierInputError(f"cannot fetch the key set from {url}: {exc}") from exc
    if not keys:
        raise VerifierInputError(f"{url} holds no ES256 P-256 signing key")
    return keys


def load_checkpoint_file(path: Path) -> dict[str, Any]:
    """A kept checkpoint: a checkpoint object, a `{"checkpoint": ...}` line, or an old export
    (JSON Lines or CSV)."""
    try:
        with path.open("rb") as handle:
            # A checkpoint file is small; an old export ends with its checkpoint line.
            size = handle.seek(0, 2)
            handle.seek(max(0, size - 65536))
            tail = handle.read().decode("utf-8", errors="replace")
    except OSError as exc:
        raise VerifierInputError(f"cannot read the checkpoint {path}: {exc}") from exc
    candidates = [tail, *reversed(tail.splitlines())] if size <= 65536 else tail.splitlines()[::-1]
    for candidate in candidates:
        try:
            value = json.loads(_csv_checkpoint_field(candidate) or candidate)
        except ValueError:
            continue
        if isinstance(value, dict) and isinstance(value.get("checkpoint"), dict):
            value = value["checkpoint"]
        if isinstance(value, dict) and "signature" in value:
            return value
    raise VerifierInputError(f"{path} holds no checkpoint")


def _csv_checkpoint_field(line: str) -> str | None:
    """The checkpoint object of a CSV export's checkpoint record, or None."""
    if not line.startswith(CSV_CHECKPOINT + ","):
        return None
    try:
        rows = list(csv.reader(io.StringIO(line)))
    except csv.Error:
        return None
    return rows[0][7] if len(rows) == 1 and len(rows[0]) == 9 else None


# -- checks -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignedHead:
    tree_size: int
    root: bytes
    timestamp: str


def check_checkpoint(
    checkpoint: Any, keys: dict[str, JoseKey], report: Report, *, line: int | None, what: str
) -> SignedHead | None:
    """The signed tree head, or None (with a FORGED_CHECKPOINT finding) if it does not hold."""
    # 1. Shape: an object with a compact JWS in `signature`.
    if not isinstance(checkpoint, dict) or not isinstance(checkpoint.get("signature"), str):
        report.add(FORGED_CHECKPOINT, f"{what} has no signature", line)
        return None
    # 2. Signature: ES256 by a key of the service, typ checkpoint+jwt.
    try:
        _header, payload = signing.verify(checkpoint["signature"], keys=keys, typ=CHECKPOINT_TYP)
    except signing.SignatureError as exc:
        report.add(
            FORGED_CHECKPOINT,
            f"{what} signature does not verify with the service's keys ({exc.code}: {exc})",
            line,
        )
        return None
    size, root, timestamp = (
        payload.get("tree_size"),
        payload.get("root_hash"),
        payload.get("timestamp"),
    )
    if (
        not isinstance(size, int)
        or isinstance(size, bool)
        or size < 0
        or not isinstance(root, str)
        or not _HEX64.match(root)
        or not isinstance(timestamp, str)
    ):
        report.add(FORGED_CHECKPOINT, f"{what} signed payload is not a tree head", line)
        return None
    # 3. The readable fields are the signed ones (an edited line with an old signature).
    for name in ("tree_size", "root_hash", "timestamp"):
        if checkpoint.get(name) != payload[name]:
            report.add(
                FORGED_CHECKPOINT,
                f"{what} field {name} was changed: the signature covers "
                f"{payload[name]!r}, the line says {checkpoint.get(name)!r}",
                line,
            )
            return None
    return SignedHead(size, bytes.fromhex(root), timestamp)


def _leaf_hash_of(event: dict[str, Any]) -> bytes | None:
    """`SHA-256(0x00 || JCS(event))`, or None if the event cannot be canonicalised."""
    try:
        return merkle.hash_leaf(canonical_json(event))
    except (TypeError, ValueError):
        return None


def _ranges(seen: bytearray, size: int) -> tuple[int, list[str]]:
    """How many seqs below `size` were not seen, and the first few missing ranges."""
    missing = 0
    shown: list[str] = []
    start = seen.find(0, 0, size)
    while start != -1:
        end = seen.find(1, start, size)
        end = size if end == -1 else end
        missing += end - start
        if len(shown) < 10:
            shown.append(str(start) if end - start == 1 else f"{start}..{end - 1}")
        start = seen.find(0, end, size)
    return missing, shown


def verify_export(
    open_lines: Callable[[], Iterable[bytes]],
    *,
    keys: dict[str, JoseKey],
    previous_checkpoint: dict[str, Any] | None = None,
    consistency_proof: dict[str, Any] | None = None,
    last_line: bytes | None = None,
    report: Report | None = None,
) -> Report:
    """Verify an export; `open_lines()` yields its lines, O(1) of them in memory.

    `last_line`, the export's last non-empty line when the caller can read it cheaply (a file:
    seek to the end), saves a pass: when it is a checkpoint line, the events are read once;
    otherwise a first pass locates the checkpoint. Returns a report; `report.ok` only when
    every check holds. The steps are the module docstring's, in its order. `report`: one to
    add to (a CSV reader records findings about its own columns there).
    """
    report = report if report is not None else Report()
    # 1. The checkpoint: located, its signature checked; and the previous one's.
    located = _locate_checkpoint(open_lines, keys=keys, report=report, last_line=last_line)
    previous: SignedHead | None = None
    if previous_checkpoint is not None:
        previous = check_checkpoint(
            previous_checkpoint, keys, report, line=None, what="previous checkpoint"
        )
    walk = _Walk(report=report, located=located, previous=previous)
    for number, raw in enumerate(open_lines(), start=1):
        # 2. A well-formed event line whose event hashes to its leaf hash.
        entry = _parse_line(walk, number, raw)
        if entry is None:
            continue
        walk.count(entry)
        # 3. Its sequence number; 4. its leaf, into the root or through its inclusion proof.
        if _check_sequence(walk, entry):
            _check_leaf(walk, entry)
    for number in walk.seen_checkpoints[:-1]:
        walk.fail(INSERTED_LINE, "a second checkpoint line was inserted", number)
    head = located.head
    if head is None:
        return report
    # 4. A complete export: every seq present, and the leaves give the checkpoint's root.
    if report.complete:
        _check_complete(walk, head)
    # 5. Consistency with the checkpoint kept from before.
    if previous is not None:
        _check_consistency(
            report,
            head,
            previous,
            walk.previous_root_here,
            walk.structure_ok,
            consistency_proof,
        )
    return report


# -- the steps of verify_export -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Located:
    """Where the checkpoint is: its tree head (None when missing or forged) and its line.

    `line` is 0 when the checkpoint came from the cheaply read last line (`single_pass`): the
    walk over the lines then recognises the checkpoint line itself.
    """

    head: SignedHead | None
    line: int
    single_pass: bool


@dataclass(slots=True)
class _Entry:
    """One event line: its seq, its event and the leaf hash it goes into the tree with.

    `line` is the parsed line, or None when the line was exactly as the service writes it
    (the fast path: no inclusion proof, the event bytes hash to the stated leaf hash).
    """

    number: int
    seq: int
    event: dict[str, Any]
    leaf: bytes
    line: dict[str, Any] | None


@dataclass(slots=True)
class _Walk:
    """What one pass over the event lines has found so far."""

    report: Report
    located: _Located
    previous: SignedHead | None
    head: SignedHead | None = field(init=False)
    seen: bytearray = field(init=False)
    compact: merkle.CompactRange = field(default_factory=merkle.CompactRange)
    # False after any finding about a line: a root recomputed from them would say nothing.
    structure_ok: bool = True
    # The root of the first previous.tree_size leaves (complete export with a previous head).
    previous_root_here: bytes | None = None
    last_seq: int = -1
    # Checkpoint lines met during a single pass (only the last one belongs there).
    seen_checkpoints: list[int] = field(default_factory=list)
    mode_known: bool = field(init=False)

    def __post_init__(self) -> None:
        head = self.head = self.located.head
        self.seen = bytearray(head.tree_size if head is not None else 0)
        # A first pass has already told a complete export from a filtered one.
        self.mode_known = not self.located.single_pass
        if self.previous is not None and self.previous.tree_size == 0:
            self.previous_root_here = merkle.EMPTY_ROOT

    def fail(self, code: str, message: str, line: int | None = None) -> None:
        """A finding about the lines: the structure no longer holds."""
        self.report.add(code, message, line)
        self.structure_ok = False

    def count(self, entry: _Entry) -> None:
        """Count an event line; the first one tells a complete export from a filtered one."""
        if not self.mode_known:
            # A filtered export carries a proof on every line; a complete one on none.
            self.report.complete = entry.line is None or "inclusion_proof" not in entry.line
            self.mode_known = True
        self.report.events += 1


def _locate_checkpoint(
    open_lines: Callable[[], Iterable[bytes]],
    *,
    keys: dict[str, JoseKey],
    report: Report,
    last_line: bytes | None,
) -> _Located:
    """Step 1: find the checkpoint line, which must be the last one, and check its signature.

    When `last_line` is a checkpoint line, nothing is read; otherwise a first pass over the
    lines finds the checkpoint lines and whether the export carries inclusion proofs.
    """
    tail = _checkpoint_of(last_line) if last_line is not None else None
    if tail is not None:
        report.checkpoint = tail if isinstance(tail, dict) else None
        head = check_checkpoint(tail, keys, report, line=None, what="checkpoint")
        return _Located(head=head, line=0, single_pass=True)
    checkpoint_lines: list[tuple[int, Any]] = []
    final_line = 0
    for number, raw in enumerate(open_lines(), start=1):
        if not raw.strip():
            continue
        final_line = number
        if b'"checkpoint"' in raw:
            value = _checkpoint_of(raw)
            if value is not None:
                checkpoint_lines.append((number, value))
        elif b'"inclusion_proof"' in raw:
            report.complete = False
    if not checkpoint_lines:
        report.add(
            MISSING_CHECKPOINT, "no checkpoint line: the export is truncated or was cut short"
        )
        return _Located(head=None, line=0, single_pass=False)
    checkpoint_line, checkpoint = checkpoint_lines[-1]
    report.checkpoint = checkpoint if isinstance(checkpoint, dict) else None
    for number, _ in checkpoint_lines[:-1]:
        report.add(INSERTED_LINE, "a second checkpoint line was inserted", number)
    head = check_checkpoint(checkpoint, keys, report, line=checkpoint_line, what="checkpoint")
    if checkpoint_line != final_line:
        report.add(INSERTED_LINE, "lines were added after the checkpoint", final_line)
    return _Located(head=head, line=checkpoint_line, single_pass=False)


def _parse_line(walk: _Walk, number: int, raw: bytes) -> _Entry | None:
    """Step 2: the event line on `raw`, or None for a line that is not one (with a finding
    when it should have been one).

    Fast path: a line exactly as the service writes it, whose event bytes hash to the stated
    leaf hash. Those bytes are then what the log committed to, so they need no
    canonicalisation. Any other line is parsed in full and its event canonicalised (RFC 8785);
    an event that does not hash to its `leaf_hash` is EDITED_LINE, and its line still goes on
    through the other checks.
    """
    fast = _SERVICE_LINE.fullmatch(raw)
    if fast is not None:
        digest = _sha256(b"\x00" + fast.group(3)).digest()
        if digest.hex() == fast.group(2).decode("ascii"):
            try:
                parsed = _decode(fast.group(3).decode("utf-8"))
            except ValueError:
                parsed = None
            if isinstance(parsed, dict):
                return _Entry(number, int(fast.group(1)), parsed, digest, None)
    located = walk.located
    if not raw.strip() or number == located.line:
        return None
    if located.line and number > located.line:
        walk.fail(INSERTED_LINE, "line after the checkpoint", number)
        return None
    try:
        line = json.loads(raw)
    except ValueError:
        walk.fail(MALFORMED_LINE, "not JSON: the line was damaged or inserted", number)
        return None
    if not isinstance(line, dict):
        walk.fail(MALFORMED_LINE, "not an event line", number)
        return None
    if located.single_pass and "checkpoint" in line:
        walk.seen_checkpoints.append(number)
        return None
    seq, stated, event = line.get("seq"), line.get("leaf_hash"), line.get("event")
    if (
        not isinstance(seq, int)
        or isinstance(seq, bool)
        or seq < 0
        or not isinstance(stated, str)
        or not isinstance(event, dict)
        or "checkpoint" in line
    ):
        walk.fail(MALFORMED_LINE, "not an event line (seq, leaf_hash, event)", number)
        return None
    leaf = _leaf_hash_of(event)
    if leaf is None or leaf.hex() != stated:
        walk.fail(
            EDITED_LINE,
            f"seq {seq}: the event does not hash to its leaf_hash: the line was edited",
            number,
        )
        leaf = leaf or hashlib.sha256(raw).digest()
    return _Entry(number, seq, event, leaf, line)


def _check_sequence(walk: _Walk, entry: _Entry) -> bool:
    """Step 3: the seq is the event's, not beyond the checkpoint, not seen before, and in
    increasing order. False when the line must not go into the tree (inserted)."""
    seq, number = entry.seq, entry.number
    # The seq on the line is the one in the (hashed) event.
    if entry.event.get("seq") != seq:
        walk.fail(
            EDITED_LINE,
            f"seq {seq} on the line but {entry.event.get('seq')!r} in the event: "
            "the line was edited",
            number,
        )
    head = walk.head
    if head is not None:
        # Nothing beyond the checkpoint's tree size, and no seq twice.
        if seq >= head.tree_size:
            walk.fail(
                INSERTED_LINE,
                f"seq {seq} is beyond the checkpoint's tree size {head.tree_size}: "
                "the line was inserted",
                number,
            )
            return False
        if walk.seen[seq]:
            walk.fail(
                INSERTED_LINE, f"seq {seq} appears a second time: the line was inserted", number
            )
            return False
        walk.seen[seq] = 1
    # Increasing order (a reordered line still goes into the tree, where the root catches it).
    if seq < walk.last_seq:
        walk.fail(
            REORDERED_EVENTS,
            f"seq {seq} comes after seq {walk.last_seq}: the events were reordered",
            number,
        )
    walk.last_seq = max(walk.last_seq, seq)
    return True


def _check_leaf(walk: _Walk, entry: _Entry) -> None:
    """Step 4, per line: a complete export's leaf goes into the recomputed root; a filtered
    export's leaf must reach the checkpoint's root through its inclusion proof."""
    if walk.report.complete:
        previous = walk.previous
        walk.compact.append(entry.leaf)
        if previous is not None and walk.compact.size == previous.tree_size:
            walk.previous_root_here = walk.compact.root()
        return
    head = walk.head
    if head is None:
        return
    proof = entry.line.get("inclusion_proof") if entry.line is not None else None
    path = _parse_proof(proof)
    if path is None:
        walk.fail(
            MALFORMED_LINE if proof is not None else INSERTED_LINE,
            f"seq {entry.seq}: no valid inclusion proof in a filtered export",
            entry.number,
        )
    elif not merkle.verify_inclusion(entry.leaf, entry.seq, head.tree_size, path, head.root):
        walk.fail(
            EDITED_LINE,
            f"seq {entry.seq}: the inclusion proof does not lead to the checkpoint's root: "
            "the event was altered (with its leaf hash) or is not in the log",
            entry.number,
        )


def _check_complete(walk: _Walk, head: SignedHead) -> None:
    """Step 4, at the end of a complete export: no seq below the tree size is missing, and
    (when every line held) the leaves recompute the checkpoint's root."""
    missing, shown = _ranges(walk.seen, head.tree_size)
    if missing:
        walk.fail(
            DROPPED_EVENTS,
            f"{missing} event(s) of the checkpoint are missing: seq {', '.join(shown)}"
            + (" …" if len(shown) == 10 else "")
            + ": events were dropped",
        )
    if walk.structure_ok and walk.compact.root() != head.root:
        walk.fail(
            ROOT_MISMATCH,
            "the events do not hash to the checkpoint's root: events were altered together "
            "with their leaf hashes, or the checkpoint belongs to another log",
        )


def _checkpoint_of(raw: bytes) -> Any | None:
    """The `checkpoint` member of a checkpoint line, or None if `raw` is not one."""
    try:
        value = json.loads(raw)
    except ValueError:
        return None
    if isinstance(value, dict) and "checkpoint" in value:
        return value["checkpoint"]
    return None


def _parse_proof(proof: Any) -> list[bytes] | None:
    """A proof's path of 32-byte hashes, or None when it is not a list of (at most 64) hex."""
    if not isinstance(proof, list) or len(proof) > 64:
        return None
    path = []
    for item in proof:
        if not isinstance(item, str) or not _HEX64.match(item):
            return None
        path.append(bytes.fromhex(item))
    return path


def _check_consistency(
    report: Report,
    head: SignedHead,
    previous: SignedHead,
    previous_root_here: bytes | None,
    structure_ok: bool,
    consistency_proof: dict[str, Any] | None,
) -> None:
    """Step 5: the log at the previous checkpoint's size is unchanged in this one: recomputed
    from a complete, intact export's leaves, or through a consistency proof (RFC 9162 §2.1.4).
    """
    if previous.tree_size > head.tree_size:
        report.add(
            LOG_REWRITTEN,
            f"the previous checkpoint has {previous.tree_size} events, this one only "
            f"{head.tree_size}: the log was truncated or rewritten",
        )
        return
    if report.complete and structure_ok and consistency_proof is None:
        # The first previous.tree_size leaves of this export must give the old root.
        if previous_root_here != previous.root:
            report.add(
                LOG_REWRITTEN,
                f"the first {previous.tree_size} events no longer hash to the root of the "
                "previous checkpoint: the log was rewritten since then",
            )
        return
    if consistency_proof is None:
        report.add(
            CONSISTENCY_UNCHECKED,
            "consistency with the previous checkpoint needs a complete, intact export or "
            "--consistency-proof (GET /v1/audit/proofs/consistency)",
        )
        return
    path = _parse_proof(consistency_proof.get("consistency_proof"))
    if (
        path is None
        or consistency_proof.get("from_size") != previous.tree_size
        or consistency_proof.get("to_size") != head.tree_size
    ):
        report.add(
            CONSISTENCY_UNCHECKED,
            f"the consistency proof is not one from size {previous.tree_size} "
            f"to size {head.tree_size}",
        )
        return
    if not merkle.verify_consistency(
        previous.tree_size, head.tree_size, previous.root, head.root, path
    ):
        report.add(
            LOG_REWRITTEN,
            f"the log of {head.tree_size} events does not extend the previous checkpoint of "
            f"{previous.tree_size} events (consistency proof fails): the log was rewritten",
        )


JSONL, CSV = "jsonl", "csv"
# The header of a CSV export (export.CSV_COLUMNS), which the verifier recognises it by.
CSV_HEADER = b"seq,leaf_hash,time,actor,action,subjects,payload,event,inclusion_proof"
CSV_CHECKPOINT = "checkpoint"


def detect_format(path: Path) -> str:
    """ "csv" or "jsonl", recognised by the file's content (not its name)."""
    with path.open("rb") as handle:
        head = handle.read(len(CSV_HEADER) + 2).lstrip(b"\xef\xbb\xbf")
    if head.startswith(CSV_HEADER):
        return CSV
    return JSONL


def verify_file(
    path: Path,
    *,
    keys: dict[str, JoseKey],
    previous_checkpoint: dict[str, Any] | None = None,
    consistency_proof: dict[str, Any] | None = None,
    on_bytes: Callable[[int], None] | None = None,
) -> Report:
    """`verify_export` over an export file on disk, JSON Lines or CSV (told by its content).

    `on_bytes(n)` is called as lines are read, with their sizes (for a progress display)."""
    kind = detect_format(path)
    report = Report(format=kind)
    reader = _CsvLines(report) if kind == CSV else None
    last = _last_line(path)
    if reader is not None and last is not None:
        last = reader.convert(last, 0, record=False)
    # Without a checkpoint as the last line, the file is read twice: count only the last read.
    passes = 1 if last is not None and _checkpoint_of(last) is not None else 2
    reads = 0

    def raw_lines() -> Iterable[bytes]:
        nonlocal reads
        reads += 1
        report_here = on_bytes is not None and reads == passes
        with path.open("rb") as handle:
            for raw in handle:
                if report_here:
                    on_bytes(len(raw))  # type: ignore[misc]
                yield raw

    return verify_export(
        (lambda: reader.lines(raw_lines())) if reader is not None else raw_lines,
        keys=keys,
        previous_checkpoint=previous_checkpoint,
        consistency_proof=consistency_proof,
        last_line=last,
        report=report,
    )


class _CsvLines:
    """A CSV export read as the JSON Lines the verifier checks, one line per CSV record.

    The header becomes an empty line, so line numbers in findings are the CSV's own. An event
    record becomes `{"seq", "leaf_hash", "event"[, "inclusion_proof"]}` with the `event` column
    verbatim (its bytes are what was hashed); the checkpoint record becomes the checkpoint line.
    The readable columns (time, actor, action, subjects, payload) must say what the signed
    event says: an edited column is EDITED_LINE.
    """

    _COLUMNS = 9

    def __init__(self, report: Report) -> None:
        self.report = report
        self._reported: set[int] = set()

    def lines(self, raw_lines: Iterable[bytes]) -> Iterator[bytes]:
        for number, raw in enumerate(raw_lines, start=1):
            if number == 1:
                yield b"\n"
                continue
            yield self.convert(raw, number, record=True)

    def convert(self, raw: bytes, number: int, *, record: bool) -> bytes:
        try:
            rows = list(csv.reader(io.StringIO(raw.decode("utf-8"))))
        except (UnicodeDecodeError, csv.Error):
            return b"<not a CSV record>\n"
        if not rows:
            return b"\n"
        row = rows[0]
        if len(rows) != 1 or len(row) != self._COLUMNS:
            return b"<not a CSV record of the export>\n"
        seq, leaf, time, actor, action, subjects, payload, event, proof = row
        if seq == CSV_CHECKPOINT:
            return b'{"checkpoint": ' + event.encode("utf-8") + b"}\n"
        if record and number not in self._reported:
            self._check_columns(number, time, actor, action, subjects, payload, event)
        line = (
            b'{"seq": '
            + (seq if seq.isdigit() else json.dumps(seq)).encode("utf-8")
            + b', "leaf_hash": '
            + json.dumps(leaf).encode("utf-8")
            + b', "event": '
            + event.encode("utf-8")
        )
        if proof:
            line += b', "inclusion_proof": ' + json.dumps(proof.split(" ")).encode("utf-8")
        return line + b"}\n"

    def _check_columns(self, number: int, *columns: str) -> None:
        time, actor, action, subjects, payload, event_json = columns
        try:
            event = json.loads(event_json)
            readable = {
                "time": time,
                "actor": actor,
                "action": action,
                "subjects": json.loads(subjects),
                "payload": json.loads(payload),
            }
        except ValueError:
            return  # the event column itself is checked as the line's event
        if not isinstance(event, dict):
            return
        for name, value in readable.items():
            if event.get(name) != value:
                self._reported.add(number)
                self.report.add(
                    EDITED_LINE,
                    f"the {name} column differs from the signed event: the record was edited",
                    number,
                )
                return


def _last_line(path: Path, window: int = 65536) -> bytes | None:
    """The last non-empty line of a file, read from its end (None if longer than `window`)."""
    with path.open("rb") as handle:
        size = handle.seek(0, 2)
        handle.seek(max(0, size - window))
        tail = handle.read().rstrip()
    if not tail:
        return None
    cut = tail.rfind(b"\n")
    if cut == -1 and size > window:
        return None
    return tail[cut + 1 :]

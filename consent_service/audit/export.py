"""Streamed export of the log (JSON Lines or CSV), constant memory in the number of events.

The request's own session prepares the export: it reads the committed tree size *first*,
caches subtree hashes and signs the checkpoint, and commits before the response starts. The
stream then reads events in batches (keyset pagination on `seq`, each batch in its own short
transaction, so a long export never holds a lock), and only events with `seq < tree_size`, so
a complete export contains exactly the leaves of its checkpoint.

JSON Lines format (auditors' scripts depend on it):

    {"seq": n, "leaf_hash": "<hex>", "event": {...}}
    {"seq": n, "leaf_hash": "<hex>", "event": {...}, "inclusion_proof": ["<hex>", ...]}   (filtered)
    {"checkpoint": {"tree_size": n, "root_hash": "<hex>", "timestamp": "...", "signature": "<JWS>"}}

`event` is written as its stored RFC 8785 bytes, so `leaf_hash == SHA-256(0x00 || event)`.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from consent_service.audit import repository, service
from consent_service.audit.tree import LogTree, ensure_subtrees
from consent_service.crypto.signer import Signer

BATCH_SIZE = 5000
CSV_COLUMNS = (
    "seq",
    "leaf_hash",
    "time",
    "actor",
    "action",
    "subjects",
    "payload",
    "event",
    "inclusion_proof",
)


@dataclass(frozen=True)
class ExportFilter:
    occurred_from: datetime | None = None
    occurred_to: datetime | None = None
    holder_id: str | None = None
    action: str | None = None
    licence_id: str | None = None

    @property
    def is_complete(self) -> bool:
        """No filter: the export holds every leaf of its checkpoint and needs no proofs."""
        return (
            self.occurred_from is None
            and self.occurred_to is None
            and self.holder_id is None
            and self.action is None
            and self.licence_id is None
        )


def _utc(value: datetime | None) -> datetime | None:
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)  # a time without an offset is read as UTC


def make_filter(
    *,
    occurred_from: datetime | None,
    occurred_to: datetime | None,
    holder_id: str | None,
    action: str | None,
    licence_id: str | None = None,
) -> ExportFilter:
    return ExportFilter(_utc(occurred_from), _utc(occurred_to), holder_id, action, licence_id)


@dataclass(frozen=True)
class PreparedExport:
    checkpoint: dict[str, Any]
    subtrees: list[bytes]
    filters: ExportFilter


def prepare_export(session: Session, *, signer: Signer, filters: ExportFilter) -> PreparedExport:
    """Fix the tree size (before any event is read), cache subtrees, sign the checkpoint."""
    tree_size = repository.committed_size(session)
    subtrees = ensure_subtrees(session, tree_size)
    tree = LogTree(
        tree_size, subtrees, lambda start, end: repository.leaf_hashes(session, start, end)
    )
    checkpoint = service.checkpoint_for(session, signer=signer, tree=tree)
    return PreparedExport(checkpoint=checkpoint, subtrees=subtrees, filters=filters)


def _read(engine: Engine, start_after: int, export: PreparedExport) -> list[tuple[int, str, str]]:
    # One short transaction per batch: on SQLite every transaction takes the write lock.
    tree_size = export.checkpoint["tree_size"]
    with Session(engine) as session:
        if export.filters.is_complete:
            end = min(start_after + 1 + BATCH_SIZE, tree_size)
            return repository.event_lines_between(session, start_after + 1, end)
        f = export.filters
        return repository.filtered_event_lines(
            session,
            after=start_after,
            below=tree_size,
            limit=BATCH_SIZE,
            occurred_from=f.occurred_from,
            occurred_to=f.occurred_to,
            holder_id=f.holder_id,
            action=f.action,
            licence_id=f.licence_id,
        )


def _batches(
    engine: Engine, export: PreparedExport
) -> Iterator[list[tuple[int, str, str, list[bytes] | None]]]:
    """Batches of (seq, leaf_hash, event_json, inclusion proof or None), in seq order."""
    tree: LogTree | None = None
    if not export.filters.is_complete:

        def load_leaves(start: int, end: int) -> list[bytes]:
            with Session(engine) as session:
                return repository.leaf_hashes(session, start, end)

        tree = LogTree(export.checkpoint["tree_size"], export.subtrees, load_leaves)
    after = -1
    while True:
        rows = _read(engine, after, export)
        if not rows:
            return
        after = rows[-1][0]
        yield [
            (seq, leaf, event, tree.inclusion_proof(seq) if tree is not None else None)
            for seq, leaf, event in rows
        ]


def stream_jsonl(engine: Engine, export: PreparedExport) -> Iterator[bytes]:
    """The export as JSON Lines, one chunk per batch, ending with the checkpoint line."""
    for batch in _batches(engine, export):
        lines = []
        for seq, leaf, event, proof in batch:
            if proof is None:
                lines.append(f'{{"seq": {seq}, "leaf_hash": "{leaf}", "event": {event}}}\n')
            else:
                path = ", ".join(f'"{h.hex()}"' for h in proof)
                lines.append(
                    f'{{"seq": {seq}, "leaf_hash": "{leaf}", "event": {event}, '
                    f'"inclusion_proof": [{path}]}}\n'
                )
        yield "".join(lines).encode("utf-8")
    yield (json.dumps({"checkpoint": export.checkpoint}) + "\n").encode("utf-8")


def stream_csv(engine: Engine, export: PreparedExport) -> Iterator[bytes]:
    """The export as CSV (for spreadsheets); the checkpoint travels in a response header.

    `event` holds the canonical event bytes, so leaf hashes can be recomputed from the CSV too;
    `inclusion_proof` is space-separated hex (empty in a complete export).
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    yield buffer.getvalue().encode("utf-8")
    for batch in _batches(engine, export):
        buffer.seek(0)
        buffer.truncate()
        for seq, leaf, event_json, proof in batch:
            event = json.loads(event_json)
            writer.writerow(
                (
                    seq,
                    leaf,
                    event["time"],
                    event["actor"],
                    event["action"],
                    json.dumps(event["subjects"], sort_keys=True),
                    json.dumps(event["payload"], sort_keys=True),
                    event_json,
                    " ".join(h.hex() for h in proof) if proof is not None else "",
                )
            )
        yield buffer.getvalue().encode("utf-8")

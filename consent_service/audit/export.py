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

CSV format: the columns of `CSV_COLUMNS`, one record per event, and a last record holding the
same checkpoint (see `stream_csv`).

`event` is written as its stored RFC 8785 bytes, so `leaf_hash == SHA-256(0x00 || event)`.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine
from sqlmodel import Session

from consent_service.audit import repository, service
from consent_service.audit.actions import Action
from consent_service.audit.tree import LogTree, ensure_subtrees
from consent_service.crypto.signer import Signer
from consent_service.db import rfc3339
from consent_service.errors import DomainError

_ACTIONS = frozenset(a.value for a in Action)
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


class UnknownFilter(DomainError):
    code, status, title = "unknown_filter", 422, "Unknown query parameter"


class UnknownAction(DomainError):
    code, status, title = "unknown_action", 422, "Unknown audit action"


class InvalidFilterValue(DomainError):
    code, status, title = "invalid_filter_value", 422, "A filter value has the wrong type"


# Filter name -> the id prefix its value must carry (ids.py).
ID_FILTERS = {
    "holder_id": "hld",
    "studio_id": "org",
    "consent_id": "cns",
    "licence_id": "lic",
}
FILTER_NAMES = ("from", "to", *ID_FILTERS, "action")
_ID_VALUE = re.compile(r"^(?P<prefix>[a-z]{2,4})_[a-z0-9]{1,60}$")


@dataclass(frozen=True)
class ExportFilter:
    occurred_from: datetime | None = None
    occurred_to: datetime | None = None
    holder_id: str | None = None
    action: str | None = None
    studio_id: str | None = None
    consent_id: str | None = None
    licence_id: str | None = None

    @property
    def is_complete(self) -> bool:
        """No filter: the export holds every leaf of its checkpoint and needs no proofs."""
        return self == ExportFilter()

    @property
    def named(self) -> list[tuple[str, str]]:
        """The (kind, id) pairs an event must name (audit_event_subject)."""
        return [
            (kind, value)
            for kind, value in (
                ("studio_id", self.studio_id),
                ("consent_id", self.consent_id),
                ("licence_id", self.licence_id),
            )
            if value is not None
        ]

    def query(self) -> dict[str, str]:
        """The filter as query parameters (what a client would send)."""
        out: dict[str, str] = {}
        if self.occurred_from is not None:
            out["from"] = rfc3339(self.occurred_from)
        if self.occurred_to is not None:
            out["to"] = rfc3339(self.occurred_to)
        for name in ID_FILTERS:
            value = getattr(self, name)
            if value is not None:
                out[name] = value
        if self.action is not None:
            out["action"] = self.action
        return out


def _time(name: str, raw: str) -> datetime:
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        raise InvalidFilterValue(
            f"{name} must be an RFC 3339 time such as 2026-11-01T00:00:00Z, not {raw[:40]!r}",
            field=name,
            expected="RFC 3339 date-time",
        ) from None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def parse_filters(
    params: Iterable[tuple[str, str]], *, extra: Iterable[str] = ()
) -> tuple[ExportFilter, dict[str, str]]:
    """The filter named by query parameters, and the values of the `extra` parameters.

    Refuses (422, nothing read) a parameter that is neither a filter nor in `extra`
    (`unknown_filter`), a repeated one or a value of the wrong type (`invalid_filter_value`),
    and an action outside the `Action` vocabulary (`unknown_action`); each problem names the
    allowed values.
    """
    allowed = (*FILTER_NAMES, *extra)
    values: dict[str, str] = {}
    for name, raw in params:
        if name not in allowed:
            raise UnknownFilter(
                f"unknown query parameter {name[:40]!r}; allowed: {', '.join(allowed)}",
                parameter=name[:40],
                allowed=list(allowed),
            )
        if name in values:
            raise InvalidFilterValue(
                f"{name} is given twice; give it once", field=name, expected="a single value"
            )
        values[name] = raw
    kwargs: dict[str, Any] = {}
    if "from" in values:
        kwargs["occurred_from"] = _time("from", values["from"])
    if "to" in values:
        kwargs["occurred_to"] = _time("to", values["to"])
    for name, prefix in ID_FILTERS.items():
        if name in values:
            raw = values[name]
            match = _ID_VALUE.match(raw)
            if match is None or match["prefix"] != prefix:
                raise InvalidFilterValue(
                    f"{name} must be an id of the form {prefix}_…, not {raw[:40]!r}",
                    field=name,
                    expected=f"{prefix}_ id",
                )
            kwargs[name] = raw
    if "action" in values:
        raw = values["action"]
        if raw not in _ACTIONS:
            raise UnknownAction(
                f"unknown action {raw[:64]!r}; the actions are listed in docs/auditors.md",
                allowed=sorted(_ACTIONS),
            )
        kwargs["action"] = raw
    extras = {name: values[name] for name in extra if name in values}
    return ExportFilter(**kwargs), extras


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
            named=f.named,
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


CSV_CHECKPOINT = "checkpoint"


def stream_csv(engine: Engine, export: PreparedExport) -> Iterator[bytes]:
    """The export as CSV (for spreadsheets), ending with the signed checkpoint as a record.

    `event` holds the canonical event bytes, so leaf hashes can be recomputed from the CSV too;
    `inclusion_proof` is space-separated hex (empty in a complete export). The last record has
    `checkpoint` in the `seq` column and the checkpoint object (as in JSON Lines) in `event`,
    so the file verifies on its own (`consent-service audit verify`).
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
    buffer.seek(0)
    buffer.truncate()
    writer.writerow((CSV_CHECKPOINT, "", "", "", "", "", "", json.dumps(export.checkpoint), ""))
    yield buffer.getvalue().encode("utf-8")


def list_events(
    session: Session, *, after: int, limit: int, filters: ExportFilter
) -> dict[str, Any]:
    """A page of events with seq > `after` matching `filters`, and the `after` of the next."""
    if filters.is_complete:
        return service.list_events(session, after=after, limit=limit)
    size = repository.committed_size(session)
    rows = repository.filtered_event_lines(
        session,
        after=after,
        below=size,
        limit=limit,
        occurred_from=filters.occurred_from,
        occurred_to=filters.occurred_to,
        holder_id=filters.holder_id,
        action=filters.action,
        named=filters.named,
    )
    items = [service.event_line(*row) for row in rows]
    next_after = rows[-1][0] if len(rows) == limit else None
    return {"items": items, "next_after": next_after}

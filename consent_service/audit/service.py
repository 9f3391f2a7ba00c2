"""`record(...)`: the one call every state change makes, in the same transaction as the change.

An event is `{"seq", "time", "actor", "action", "subjects", "payload"}`; its canonical bytes
(RFC 8785) are stored and its leaf hash is `SHA-256(0x00 || canonical bytes)` (RFC 9162 §2.1.1),
so the Merkle tree of the audit issue is computed over exactly what is stored.

Events carry identifiers, codes and hashes only, never personal data: `record` refuses payload
keys that name personal fields, as a guard against a careless caller.

Observers: what follows from an event without being part of the change (mail to the holder,
today) is told of each recorded event, in the same transaction, by the observers that the
composition root binds to the session (`bind_observers`, wiring.py). An observer may only add
rows of its own (an outbox message), so a message exists exactly when its event does.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlmodel import Session

from consent_service.audit import merkle, repository
from consent_service.audit.actions import Action
from consent_service.audit.models import AuditEvent
from consent_service.audit.offline import CHECKPOINT_TYP
from consent_service.audit.tree import LogTree, open_tree
from consent_service.canonical import canonical_json
from consent_service.crypto.signer import Signer
from consent_service.db import rfc3339, utcnow
from consent_service.errors import DomainError, NotFound

PERSONAL_FIELD_NAMES = frozenset(
    {
        "legal_name",
        "name",
        "stage_name",
        "email",
        "password",
        "date_of_birth",
        "date_of_death",
        "address",
        "phone",
        "ip",
        "ip_address",
        "user_agent",
        "signed_name",
    }
)


@dataclass(frozen=True, slots=True)
class Recorded:
    """What an observer is told of one event: its action and the ids it names."""

    seq: int
    action: str
    actor_id: str
    subjects: Mapping[str, str]
    payload: Mapping[str, Any]


AuditObserver = Callable[[Session, Recorded], None]
_OBSERVERS_KEY = "consent_service.audit_observers"


def bind_observers(info: MutableMapping[Any, Any], observers: Sequence[AuditObserver]) -> None:
    """Tell `observers` of every event recorded through the session owning `info`."""
    info[_OBSERVERS_KEY] = tuple(observers)


def _tell_observers(
    session: Session,
    rows: Sequence[Mapping[str, Any]],
    payloads: Sequence[Mapping[str, Any] | None],
) -> None:
    observers: tuple[AuditObserver, ...] = session.info.get(_OBSERVERS_KEY, ())
    if not observers:
        return
    for row, payload in zip(rows, payloads, strict=True):
        recorded = Recorded(
            seq=int(row["seq"]),
            action=str(row["action"]),
            actor_id=str(row["actor_id"]),
            subjects=row["subject_ids"],
            payload=payload or {},
        )
        for observer in observers:
            observer(session, recorded)


def leaf_hash(canonical_event: bytes) -> str:
    """RFC 9162 leaf hash of one canonical event, as lower-case hex."""
    return hashlib.sha256(b"\x00" + canonical_event).hexdigest()


def _check_no_personal_data(payload: Mapping[str, Any], path: str = "payload") -> None:
    for key, value in payload.items():
        if key in PERSONAL_FIELD_NAMES:
            raise ValueError(f"audit {path}.{key} would carry personal data")
        if isinstance(value, Mapping):
            _check_no_personal_data(value, f"{path}.{key}")


def subject_rows(
    seq: int, subjects: Mapping[str, Any], payload: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """The ids an event names, as `audit_event_subject` rows: every `*_id` of its subjects and
    every id its payload names (`licence_id`, or a list such as `licence_ids`). The exact
    filters (studio, consent, licence) read these, so any event naming a licence is found."""
    found: set[tuple[str, str]] = set()
    for kind, ref in subjects.items():
        if isinstance(ref, str) and kind.endswith("_id"):
            found.add((kind, ref))
    for key, value in payload.items():
        if key.endswith("_ids") and isinstance(value, list | tuple):
            found.update((key[:-1], v) for v in value if isinstance(v, str))
        elif key.endswith("_id") and isinstance(value, str):
            found.add((key, value))
    return [
        {"kind": k, "ref": r, "seq": seq} for k, r in sorted(found) if len(k) <= 40 and len(r) <= 64
    ]


def _event_values(
    *,
    seq: int,
    actor_id: str,
    action: str,
    subjects: Mapping[str, str],
    payload: Mapping[str, Any] | None,
    holder_id: str | None,
) -> dict[str, Any]:
    action = str(action)  # the plain value (an `Action` is a str); exported logs carry it
    payload = dict(payload or {})
    _check_no_personal_data(payload)
    occurred_at = utcnow()
    event = {
        "seq": seq,
        "time": rfc3339(occurred_at),
        "actor": actor_id,
        "action": action,
        "subjects": dict(subjects),
        "payload": payload,
    }
    canonical = canonical_json(event)
    return {
        "seq": seq,
        "occurred_at": occurred_at,
        "actor_id": actor_id,
        "action": action,
        "holder_id": holder_id or subjects.get("holder_id"),
        "subject_ids": dict(subjects),
        "event_json": canonical.decode("utf-8"),
        "leaf_hash": leaf_hash(canonical),
        "subjects": subject_rows(seq, subjects, payload),
    }


def record(
    session: Session,
    *,
    actor_id: str,
    action: Action,
    subjects: Mapping[str, str],
    payload: Mapping[str, Any] | None = None,
    holder_id: str | None = None,
) -> AuditEvent:
    """Append one event to the log inside the caller's transaction and return it.

    `action` is one of `Action` (audit/actions.py); its string value is what the log keeps.

    `subjects` maps roles to ids (`{"holder_id": "hld_…", "consent_id": "cns_…"}`);
    `holder_id` (defaulting to `subjects["holder_id"]`) files the event under that holder for
    the holder's own export and the auditor's filter.
    """
    values = _event_values(
        seq=repository.take_next_seq(session, 1),
        actor_id=actor_id,
        action=action,
        subjects=subjects,
        payload=payload,
        holder_id=holder_id,
    )
    named = values.pop("subjects")
    repository.add_events(session, [values], named)
    _tell_observers(session, [values], [payload])
    return AuditEvent(**values)


def record_many(session: Session, entries: Sequence[Mapping[str, Any]]) -> int:
    """Append several events at once (keyword arguments of `record` each); the first seq.

    The batch append (usage batches, bulk loads): one head update takes `len(entries)`
    consecutive sequence numbers under the head's row lock, each event is hashed exactly as
    `record` hashes it, and the rows go in with one batched insert (COPY on PostgreSQL), so
    the log, its Merkle tree and its proofs are the same as after one `record` per event.
    """
    first = repository.take_next_seq(session, len(entries))
    rows = [
        _event_values(seq=first + i, **{"payload": None, "holder_id": None, **entry})
        for i, entry in enumerate(entries)
    ]
    named = [r for row in rows for r in row.pop("subjects")]
    repository.add_events(session, rows, named)
    _tell_observers(session, rows, [entry.get("payload") for entry in entries])
    return first


def event_document(row: AuditEvent) -> dict[str, Any]:
    """The event as stored (the object whose canonical bytes are hashed)."""
    doc: dict[str, Any] = json.loads(row.event_json)
    return doc


# -- checkpoints, proofs, reading the log ---------------------------------------------------------


class ProofOutOfRange(DomainError):
    code, status, title = "proof_out_of_range", 400, "Tree size or seq outside the log"


# Keeps each tree head the first time a checkpoint of its size is signed (audit_signed_checkpoint):
# called with the tree and whichever form was just signed, the JWS checkpoint or the signed note.
# Bound to the session by the composition root (wiring.py), which knows both signers.
CheckpointKeeper = Callable[[Session, LogTree, dict[str, Any] | None, str | None], None]
_KEEPER_KEY = "consent_service.checkpoint_keeper"


def bind_checkpoint_keeper(info: MutableMapping[Any, Any], keeper: CheckpointKeeper) -> None:
    """Keep the checkpoints signed through the session owning `info` with `keeper`."""
    info[_KEEPER_KEY] = keeper


def keep_signed(
    session: Session,
    tree: LogTree,
    *,
    checkpoint: dict[str, Any] | None = None,
    signed_note: str | None = None,
) -> None:
    """Tell the session's keeper a checkpoint of `tree` was signed (a no-op in a session opened
    without one, such as the offline tools'). The keeper writes: the session must be a writing
    one (the routes that sign are `WritingRead`, deps.py)."""
    keeper: CheckpointKeeper | None = session.info.get(_KEEPER_KEY)
    if keeper is not None:
        keeper(session, tree, checkpoint, signed_note)


def sign_checkpoint(session: Session, *, signer: Signer, tree: LogTree) -> dict[str, Any]:
    """The JWS checkpoint of `tree`, signed now and not kept (see `checkpoint_for`)."""
    body: dict[str, Any] = {
        "tree_size": tree.tree_size,
        "root_hash": tree.root().hex(),
        "timestamp": rfc3339(utcnow()),
    }
    return {**body, "signature": signer.sign(session, body, typ=CHECKPOINT_TYP)}


def checkpoint_for(session: Session, *, signer: Signer, tree: LogTree) -> dict[str, Any]:
    """A signed checkpoint `{tree_size, root_hash, timestamp, signature}` for `tree`.

    `signature` is a compact ES256 JWS (typ `checkpoint+jwt`) whose payload holds exactly the
    other three fields, verifiable with the keys of /.well-known/jwks.json. The first
    checkpoint signed for a tree size is kept (`keep_signed`); the answer is always the one
    signed now.
    """
    checkpoint = sign_checkpoint(session, signer=signer, tree=tree)
    keep_signed(session, tree, checkpoint=checkpoint)
    return checkpoint


def current_tree(session: Session) -> LogTree:
    """The tree over every committed event."""
    return open_tree(session, repository.committed_size(session))


def latest_checkpoint(session: Session, *, signer: Signer) -> dict[str, Any]:
    """The signed checkpoint of the log as committed now."""
    return checkpoint_for(session, signer=signer, tree=current_tree(session))


def checkpoint_at(session: Session, *, signer: Signer, tree_size: int) -> dict[str, Any]:
    """A signed checkpoint of the log at an earlier `tree_size`."""
    return checkpoint_for(session, signer=signer, tree=_tree_at(session, tree_size))


def _tree_at(session: Session, tree_size: int | None) -> LogTree:
    committed = repository.committed_size(session)
    size = committed if tree_size is None else tree_size
    if not 0 <= size <= committed:
        raise ProofOutOfRange(f"tree_size must be between 0 and {committed}")
    return open_tree(session, size)


def inclusion_proof(session: Session, *, seq: int, tree_size: int | None) -> dict[str, Any]:
    """RFC 9162 inclusion proof of event `seq` in the tree of `tree_size` (default: current)."""
    tree = _tree_at(session, tree_size)
    if not 0 <= seq < tree.tree_size:
        raise ProofOutOfRange(f"seq must be between 0 and {tree.tree_size - 1}")
    row = repository.event_by_seq(session, seq)
    assert row is not None  # every seq below the committed head exists
    return {
        "seq": seq,
        "tree_size": tree.tree_size,
        "leaf_hash": row.leaf_hash,
        "inclusion_proof": [h.hex() for h in tree.inclusion_proof(seq)],
        "root_hash": tree.root().hex(),
    }


def consistency_proof(session: Session, *, from_size: int, to_size: int | None) -> dict[str, Any]:
    """RFC 9162 consistency proof that the tree of `to_size` extends the tree of `from_size`."""
    tree = _tree_at(session, to_size)
    if not 1 <= from_size <= tree.tree_size:
        raise ProofOutOfRange(f"from_size must be between 1 and {tree.tree_size}")
    return {
        "from_size": from_size,
        "to_size": tree.tree_size,
        "from_root": tree.subtree_hash(0, from_size).hex(),
        "to_root": tree.root().hex(),
        "consistency_proof": [h.hex() for h in tree.consistency_proof(from_size)],
    }


def event_line(seq: int, leaf_hash_hex: str, event_json: str) -> dict[str, Any]:
    """The export line of one event: `{"seq", "leaf_hash", "event"}`."""
    return {"seq": seq, "leaf_hash": leaf_hash_hex, "event": json.loads(event_json)}


def list_events(session: Session, *, after: int, limit: int) -> dict[str, Any]:
    """Events with seq > `after`, in sequence order, and the `after` of the next page."""
    rows = repository.event_lines_between(session, after + 1, after + 1 + limit)
    size = repository.committed_size(session)
    items = [event_line(*row) for row in rows]
    next_after = rows[-1][0] if rows and rows[-1][0] < size - 1 else None
    return {"items": items, "next_after": next_after}


def events_of_holder(session: Session, holder_id: str) -> Sequence[AuditEvent]:
    """Every event filed under `holder_id`, in sequence order (the holder's export)."""
    return repository.events_for_holder(session, holder_id)


def events_for_holder_document(session: Session, holder_id: str) -> list[dict[str, Any]]:
    """Every event filed under `holder_id`, as export lines, for the holder's own export.

    Each line can be proven later with `holder_inclusion_proof` (its `seq` is in the receipt).
    """
    return [
        event_line(row.seq, row.leaf_hash, row.event_json)
        for row in repository.events_for_holder(session, holder_id)
    ]


def holder_inclusion_proof(
    session: Session, *, signer: Signer, holder_id: str, seq: int
) -> dict[str, Any]:
    """The event `seq` filed under `holder_id`, its inclusion proof and a signed checkpoint.

    NotFound when the event is not the holder's (or does not exist): a holder learns nothing
    about other people's events.
    """
    row = repository.event_by_seq(session, seq) if seq >= 0 else None
    if row is None or row.holder_id != holder_id:
        raise NotFound()
    return _with_proof(session, signer, row)


def _with_proof(session: Session, signer: Signer, row: AuditEvent) -> dict[str, Any]:
    tree = current_tree(session)
    return {
        **event_line(row.seq, row.leaf_hash, row.event_json),
        "inclusion_proof": [h.hex() for h in tree.inclusion_proof(row.seq)],
        "checkpoint": checkpoint_for(session, signer=signer, tree=tree),
    }


def event_proof(session: Session, *, signer: Signer, seq: int) -> tuple[str, dict[str, Any]]:
    """(the event's canonical bytes as stored, its line with an inclusion proof and the signed
    checkpoint of the same tree), for the auditor's event page; NotFound outside the log."""
    row = repository.event_by_seq(session, seq) if 0 <= seq < 2**53 else None
    if row is None or seq >= repository.committed_size(session):
        raise NotFound()
    return row.event_json, _with_proof(session, signer, row)


# -- what the auditor page shows: the kept history of tree heads and the activity per day -----


def _kept(row: Any, cosignatures: Sequence[Any]) -> dict[str, Any]:
    return {
        "tree_size": row.tree_size,
        "root_hash": row.root_hash,
        "signed_at": row.signed_at,
        "signature": row.signature,
        "note": row.note,
        "cosignatures": [
            {
                "witness": c.witness,
                "cosigned_at": c.cosigned_at,
                "received_at": c.received_at,
                "signature_line": c.signature_line,
            }
            for c in cosignatures
            if c.root_hash == row.root_hash
        ],
    }


def checkpoint_history(
    session: Session, *, after: int | None, before: int | None, limit: int
) -> dict[str, Any]:
    """A page of the kept tree heads with their witnesses' cosignatures.

    Newest first (`before`: sizes below it; `next_before` for the next page), or with `after`
    the sizes above it in ascending order (`next_after`). A cursor only when more rows exist.
    """
    rows = list(repository.signed_checkpoints(session, after=after, before=before, limit=limit + 1))
    more = len(rows) > limit
    rows = rows[:limit]
    by_size: dict[int, list[Any]] = {}
    for cosignature in repository.cosignatures_of(session, [r.tree_size for r in rows]):
        by_size.setdefault(cosignature.tree_size, []).append(cosignature)
    items = [_kept(row, by_size.get(row.tree_size, [])) for row in rows]
    last = rows[-1].tree_size if more else None
    return {
        "items": items,
        "next_after": last if after is not None else None,
        "next_before": last if after is None else None,
    }


def kept_checkpoint(session: Session, tree_size: int) -> dict[str, Any] | None:
    """The kept tree head of `tree_size` with its cosignatures, or None when none is kept."""
    row = repository.signed_checkpoint_at(session, tree_size)
    if row is None:
        return None
    return _kept(row, repository.cosignatures_at(session, tree_size))


def check_history(session: Session, items: list[dict[str, Any]]) -> None:
    """Mark each of `items` (kept heads, newest first) with `consistent`: whether the log's
    consistency proof from the kept head just below it verifies against both kept roots
    (None for the oldest kept head, which has nothing below it). A log rewritten between two
    kept heads fails here: the proof is computed from the events stored now."""
    if not items:
        return
    tree = open_tree(session, max(item["tree_size"] for item in items))
    below: list[tuple[int, str] | None] = [
        (item["tree_size"], item["root_hash"]) for item in items[1:]
    ]
    oldest = repository.signed_checkpoint_before(session, items[-1]["tree_size"])
    below.append(None if oldest is None else (oldest.tree_size, oldest.root_hash))
    for item, previous in zip(items, below, strict=True):
        if previous is None:
            item["consistent"], item["previous_size"] = None, None
            continue
        old_size, old_root = previous
        new_size, new_root = item["tree_size"], item["root_hash"]
        if old_size == 0:
            proof: list[bytes] = []
            ok = old_root == merkle.EMPTY_ROOT.hex()
        else:
            proof = merkle.consistency_proof(old_size, new_size, tree.subtree_hash)
            ok = True
        item["previous_size"] = old_size
        item["consistent"] = ok and merkle.verify_consistency(
            old_size, new_size, bytes.fromhex(old_root), bytes.fromhex(new_root), proof
        )


def events_per_day(
    session: Session, *, actions: Sequence[str], since: datetime, until: datetime
) -> dict[str, dict[str, int]]:
    """{action: {YYYY-MM-DD: count}} of events of `actions` in [since, until), UTC days."""
    counts: dict[str, dict[str, int]] = {action: {} for action in actions}
    for day, action, count in repository.events_per_day(
        session, actions=actions, since=since, until=until
    ):
        counts[action][day] = counts[action].get(day, 0) + count
    return counts

"""`record(...)`: the one call every state change makes, in the same transaction as the change.

An event is `{"seq", "time", "actor", "action", "subjects", "payload"}`; its canonical bytes
(RFC 8785) are stored and its leaf hash is `SHA-256(0x00 || canonical bytes)` (RFC 9162 §2.1.1),
so the Merkle tree of the audit issue is computed over exactly what is stored.

Events carry identifiers, codes and hashes only, never personal data: `record` refuses payload
keys that name personal fields, as a guard against a careless caller.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

from sqlmodel import Session

from consent_service.audit import repository
from consent_service.audit.models import AuditEvent
from consent_service.canonical import canonical_json
from consent_service.db import rfc3339, utcnow

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


def leaf_hash(canonical_event: bytes) -> str:
    """RFC 9162 leaf hash of one canonical event, as lower-case hex."""
    return hashlib.sha256(b"\x00" + canonical_event).hexdigest()


def _check_no_personal_data(payload: Mapping[str, Any], path: str = "payload") -> None:
    for key, value in payload.items():
        if key in PERSONAL_FIELD_NAMES:
            raise ValueError(f"audit {path}.{key} would carry personal data")
        if isinstance(value, Mapping):
            _check_no_personal_data(value, f"{path}.{key}")


def record(
    session: Session,
    *,
    actor_id: str,
    action: str,
    subjects: Mapping[str, str],
    payload: Mapping[str, Any] | None = None,
    holder_id: str | None = None,
) -> AuditEvent:
    """Append one event to the log inside the caller's transaction and return it.

    `subjects` maps roles to ids (`{"holder_id": "hld_…", "consent_id": "cns_…"}`);
    `holder_id` (defaulting to `subjects["holder_id"]`) files the event under that holder for
    the holder's own export and the auditor's filter.
    """
    payload = dict(payload or {})
    _check_no_personal_data(payload)
    holder_id = holder_id or subjects.get("holder_id")
    head = repository.lock_head(session)
    seq = head.next_seq
    head.next_seq = seq + 1
    session.add(head)
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
    row = AuditEvent(
        seq=seq,
        occurred_at=occurred_at,
        actor_id=actor_id,
        action=action,
        holder_id=holder_id,
        subject_ids=dict(subjects),
        event_json=canonical.decode("utf-8"),
        leaf_hash=leaf_hash(canonical),
    )
    repository.add_event(session, row)
    return row


def event_document(row: AuditEvent) -> dict[str, Any]:
    """The event as stored (the object whose canonical bytes are hashed)."""
    doc: dict[str, Any] = json.loads(row.event_json)
    return doc

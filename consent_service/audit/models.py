"""The append-only audit log (DESIGN.md, "Audit log")."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Text
from sqlmodel import Field, SQLModel

from consent_service.db import UTCDateTime


class AuditEvent(SQLModel, table=True):
    """One event. `event_json` holds the RFC 8785 canonical bytes whose leaf hash is stored.

    Rows are only ever inserted; no code path updates or deletes them.
    """

    __tablename__ = "audit_event"

    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    occurred_at: datetime = Field(sa_type=UTCDateTime, index=True)
    actor_id: str = Field(max_length=40)
    action: str = Field(max_length=64, index=True)
    holder_id: str | None = Field(default=None, max_length=40, index=True)
    subject_ids: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    event_json: str = Field(sa_column=Column(Text, nullable=False))
    leaf_hash: str = Field(max_length=64)


class AuditHead(SQLModel, table=True):
    """A single row holding the next sequence number.

    Appenders lock it (SELECT ... FOR UPDATE) inside their own transaction, so sequence numbers
    are handed out in commit order with no holes: a rolled-back transaction gives its number
    back. The cost of an append does not depend on the size of the log.
    """

    __tablename__ = "audit_head"

    id: int = Field(default=1, primary_key=True)
    next_seq: int = Field(sa_column=Column(BigInteger, nullable=False, default=0))


class AuditSubtree(SQLModel, table=True):
    """The hash of one perfect subtree of `SUBTREE_SIZE` leaves: seq `index*SIZE .. +SIZE-1`.

    Derived data, a cache: a subtree is written only once all its events are committed (they
    never change afterwards), so tree heads and proofs for any size read about n/1024 of these
    plus at most two subtrees' leaf hashes, instead of all n leaf hashes.
    """

    __tablename__ = "audit_subtree"

    subtree_index: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    root_hash: str = Field(max_length=64)


class AuditEventSubject(SQLModel, table=True):
    """One id an event names (`consent_id`, `licence_id`, `studio_id`, …), for exact filters.

    Derived from the event when it is recorded (its `subjects`, and the ids listed in its
    payload, e.g. the `licence_ids` a cascade suspended), so an auditor can ask for every event
    naming a licence without the log carrying anything but ids. Rows are only ever inserted.
    """

    __tablename__ = "audit_event_subject"

    kind: str = Field(primary_key=True, max_length=40)
    ref: str = Field(primary_key=True, max_length=64)
    seq: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))


class AuditCosignature(SQLModel, table=True):
    """A witness's cosignature (C2SP tlog-cosignature) over one checkpoint of the log.

    `signature_line` is the note signature line exactly as the witness made it; it is served
    with the checkpoint of the same size while that is the log's latest.
    """

    __tablename__ = "audit_cosignature"

    witness: str = Field(primary_key=True, max_length=255)
    tree_size: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    root_hash: str = Field(max_length=64)
    cosigned_at: datetime = Field(sa_type=UTCDateTime)
    signature_line: str = Field(sa_column=Column(Text, nullable=False))
    received_at: datetime = Field(sa_type=UTCDateTime)


class AuditSignedCheckpoint(SQLModel, table=True):
    """A tree head the registry signed, kept the first time a checkpoint of its size is signed.

    `signature` is the JWS form (checkpoint+jwt) and `note` the C2SP signed note (the log's own
    signature line, without cosignatures), both as first made, so an auditor can read the
    log's history of tree heads and check consecutive ones against each other. Rows are only
    ever inserted (insert-or-ignore: concurrent first readers of one size keep one row).
    """

    __tablename__ = "audit_signed_checkpoint"

    tree_size: int = Field(sa_column=Column(BigInteger, primary_key=True, autoincrement=False))
    root_hash: str = Field(max_length=64)
    signed_at: datetime = Field(sa_type=UTCDateTime)
    signature: str = Field(sa_column=Column(Text, nullable=False))
    note: str = Field(sa_column=Column(Text, nullable=False))

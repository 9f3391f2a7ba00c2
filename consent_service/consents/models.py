"""Consent requests, grants and receipts (CONSENT_RULES.md; DESIGN.md "Consent lifecycle").

A grant's terms never change after it is made (a change of terms is a new grant); only its
`status` moves, and every move is an audit event plus a signed receipt.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, LargeBinary, Text
from sqlmodel import Field, SQLModel

from consent_service.db import UTCDateTime, utcnow


class ConsentRequest(SQLModel, table=True):
    """A studio's request for consent, with the notice served to the holder."""

    __tablename__ = "consent_request"

    id: str = Field(primary_key=True, max_length=40)
    holder_id: str = Field(foreign_key="holder.id", index=True, max_length=40)
    studio_id: str = Field(foreign_key="organization.id", index=True, max_length=40)
    # "pending" | "accepted" | "declined"
    status: str = Field(default="pending", max_length=16, index=True)
    terms: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    warnings: list[dict[str, str]] = Field(default_factory=list, sa_column=Column(JSON))
    language: str = Field(max_length=8)
    notice_template_version: str = Field(max_length=32)
    notice_text: str = Field(sa_column=Column(Text, nullable=False))
    notice_sha256: str = Field(max_length=64)
    # The same notice in the other languages the template exists in, rendered at the same time:
    # {language: {"text", "sha256"}} (migration 0018; NULL for requests made before). The holder
    # reads and accepts it in the language of their choice, quoting that text's hash.
    notices: dict[str, dict[str, str]] | None = Field(default=None, sa_column=Column(JSON))
    # The notice is served when the request is made: this is "the time the notice was served".
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    decided_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Free text from the holder: ciphertext under the holder's data key.
    decline_reason_enc: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    grant_id: str | None = Field(default=None, max_length=40)
    # The identity assurance the studio asks of the holder (verification/levels.py); None: only
    # the deployment's floor (CONSENT_MIN_ASSURANCE) applies.
    min_assurance: str | None = Field(default=None, max_length=32)


# The system's fixed causes of a status change (lifecycle.CODED_REASONS): kept in clear.
ASSURANCE_LOWERED = "assurance_lowered"
ERASURE = "erasure"
DEATH = "death of the holder"
FIXED_REASONS: frozenset[str] = frozenset({ASSURANCE_LOWERED, ERASURE, DEATH})


class ConsentGrant(SQLModel, table=True):
    """A consent given: immutable terms and evidence, and a status that moves."""

    __tablename__ = "consent_grant"

    id: str = Field(primary_key=True, max_length=40)
    # Unique: one request yields at most one grant, even under a concurrent double accept.
    request_id: str = Field(foreign_key="consent_request.id", unique=True, max_length=40)
    holder_id: str = Field(foreign_key="holder.id", index=True, max_length=40)
    studio_id: str = Field(foreign_key="organization.id", index=True, max_length=40)
    # "active" | "withdrawn" | "revoked" | "suspended" | "expired" | "ended_by_death"
    status: str = Field(default="active", max_length=16, index=True)
    terms: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    warnings: list[dict[str, str]] = Field(default_factory=list, sa_column=Column(JSON))
    language: str = Field(max_length=8)
    notice_template_version: str = Field(max_length=32)
    notice_sha256: str = Field(max_length=64)
    notice_served_at: datetime = Field(sa_type=UTCDateTime)
    # The separate choices the request offered and the holder's answer to each
    # ([{dimension, item, accepted}]; NULL when none was offered), and the SHA-256 that bound
    # the notice and those answers when the holder signed (migration 0018).
    choices: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSON))
    choices_sha256: str | None = Field(default=None, max_length=64)
    accepted_at: datetime = Field(sa_type=UTCDateTime)
    holder_status: str = Field(max_length=16)  # the holder's status when the grant was made
    # Effective window: valid_until is after the caps (18th birthday, post-mortem end).
    valid_from: datetime = Field(sa_type=UTCDateTime)
    valid_until: datetime = Field(sa_type=UTCDateTime, index=True)
    # When the holder was told that the grant ends within 30 days (once per grant).
    ending_notice_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # {role, method, signed_at, evidence_hash, representative_id, required_assurance,
    # holder_assurance}: no personal data in clear. `required_assurance` is the level the
    # holder's own signature was checked against (None when a representative signed).
    signature: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    signed_name_enc: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    # Where the consent was given: "portal" (the holder portal's form) or "api" (the HTTP API).
    # The receipt's `collectionMethod` is "<channel>:<signature method>" (migration 0022; NULL
    # for grants made before, whose receipts say "unrecorded:<method>").
    collection_channel: str | None = Field(default=None, max_length=16)
    court_approval_enc: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    status_changed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # Why the grant is in its state. A person's words (revocation, suspension) are free text
    # that may name someone: encrypted under the holder's data key (AAD grant/<id>/status_reason)
    # and so shredded with it at erasure. `status_reason` in clear holds only the system's fixed
    # causes (FIXED_REASONS), or a person's reason written before migration 0011 (erasure
    # clears those).
    status_reason: str | None = Field(default=None, max_length=500)
    status_reason_enc: bytes | None = Field(default=None, sa_column=Column(LargeBinary))


class ConsentReceipt(SQLModel, table=True):
    """A signed consent receipt (compact JWS), issued on every status change of a grant."""

    __tablename__ = "consent_receipt"

    id: str = Field(primary_key=True, max_length=40)
    grant_id: str = Field(foreign_key="consent_grant.id", index=True, max_length=40)
    consent_state: str = Field(max_length=16)
    audit_seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    token: str = Field(sa_column=Column(Text, nullable=False))
    issued_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

"""Verification cases, their evidence objects and live-capture challenges.

Evidence media never sit in the database: each `Evidence` row points at an object in the vault,
encrypted under a key wrapped by the holder's data key. Once an identity document is reviewed
the object is deleted and the row keeps only its keyed hash, type and size.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, LargeBinary
from sqlmodel import Field, SQLModel

from consent_service.db import UTCDateTime, utcnow


class VerificationCase(SQLModel, table=True):
    __tablename__ = "verification_case"
    __table_args__ = (
        Index("ix_verification_case_status_created", "status", "created_at", "id"),
        Index("ix_verification_case_holder_kind", "holder_id", "kind", "status"),
    )

    id: str = Field(primary_key=True, max_length=40)
    # identity_document | liveness | representative_authority | court_approval | death
    kind: str = Field(max_length=32)
    holder_id: str = Field(foreign_key="holder.id", max_length=40)
    representative_id: str | None = Field(
        default=None, foreign_key="representative.id", index=True, max_length=40
    )
    request_id: str | None = Field(
        default=None, foreign_key="consent_request.id", index=True, max_length=40
    )
    status: str = Field(default="pending", max_length=16)  # pending|approved|rejected|withdrawn
    submitted_by: str = Field(max_length=40)
    reviewed_by: str | None = Field(default=None, max_length=40)
    # The reviewer's reason (or the withdrawer's); shown to the holder, never audited.
    reason: str | None = Field(default=None, max_length=1000)
    # Metadata of the evidence, never the evidence: document type, issuing country, last 4
    # characters of its number, document date, challenge id and purpose.
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    reviewed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    withdrawn_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Evidence(SQLModel, table=True):
    """One uploaded evidence object of a case (a vault object, not a reference)."""

    __tablename__ = "verification_evidence"

    id: str = Field(primary_key=True, max_length=40)
    case_id: str = Field(foreign_key="verification_case.id", index=True, max_length=40)
    holder_id: str = Field(foreign_key="holder.id", index=True, max_length=40)
    content_type: str = Field(max_length=32)
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    stripped_metadata: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    storage_name: str = Field(max_length=100)
    # Keyed HMAC-SHA256 (service key "content-hmac") of the cleaned content: kept after the
    # object is deleted, so the same document can be recognised without keeping it.
    content_hmac: str = Field(max_length=64)
    wrapped_key: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    deleted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Challenge(SQLModel, table=True):
    """A one-time phrase for a live capture: only its SHA-256 is stored."""

    __tablename__ = "verification_challenge"

    id: str = Field(primary_key=True, max_length=40)
    holder_id: str = Field(foreign_key="holder.id", index=True, max_length=40)
    purpose: str = Field(max_length=64)  # "liveness" | "grant:<request id>"
    phrase_sha256: str = Field(max_length=64)
    created_by: str = Field(max_length=40)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

"""The invitation row: no clear personal data (the address is sealed, and erased at the end)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, LargeBinary
from sqlmodel import Field, SQLModel

from consent_service.db import UTCDateTime, utcnow


class Invitation(SQLModel, table=True):
    __tablename__ = "invitation"
    __table_args__ = (Index("ix_invitation_studio_created", "studio_id", "created_at", "id"),)

    id: str = Field(primary_key=True, max_length=40)
    studio_id: str = Field(max_length=40)
    created_by: str = Field(max_length=40)  # the studio's API key (actor of the audit event)
    # pending | accepted | declined | withdrawn; "expired" is computed from expires_at.
    status: str = Field(default="pending", max_length=16)
    # The address, sealed; NULL once the invitation ended.
    email_sealed: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    # Blind index of (studio, address) while pending: one pending invitation per address.
    pending_key: str | None = Field(default=None, max_length=64, unique=True)
    token_sha256: str = Field(max_length=64, unique=True)
    # The consent request to make once accepted: {terms, language, min_assurance}, or NULL.
    request_spec: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    holder_id: str | None = Field(default=None, max_length=40)
    request_id: str | None = Field(default=None, max_length=40)

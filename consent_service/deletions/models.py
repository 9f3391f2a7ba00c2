"""One acknowledgement owed (or given) per licence through which references were downloaded."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from consent_service.db import UTCDateTime, utcnow


class DeletionAcknowledgement(SQLModel, table=True):
    __tablename__ = "deletion_acknowledgement"
    __table_args__ = (
        Index("ix_deletion_ack_holder", "holder_id", "due_since"),
        Index("ix_deletion_ack_open", "acknowledged_at", "last_reminded_at"),
    )

    # One per licence: a licence stops once (revocation is final).
    licence_id: str = Field(primary_key=True, max_length=40)
    studio_id: str = Field(max_length=40)
    holder_id: str = Field(max_length=40)
    # What stopped the licence: "consent_withdrawn", "licence_revoked", "holder_erased", ...
    cause: str = Field(max_length=32)
    due_since: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    last_reminded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    acknowledged_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    acknowledged_by: str | None = Field(default=None, max_length=40)

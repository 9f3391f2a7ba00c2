"""Usages: one row per output a studio generated under a licence (issue 16, usage receipts).

A usage names the output by its SHA-256 and describes it (media type, duration or pixel size),
the use made of the likeness and the tool that made it. It carries identifiers, codes and
hashes only: no personal data, so it can be shown to the holder, the studio and auditors.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, Index
from sqlmodel import Field, SQLModel

from consent_service.db import UTCDateTime, utcnow


class Usage(SQLModel, table=True):
    __tablename__ = "licence_usage"
    __table_args__ = (
        Index("ix_licence_usage_licence_created", "licence_id", "created_at", "id"),
        Index("ix_licence_usage_holder_created", "holder_id", "created_at", "id"),
    )

    id: str = Field(primary_key=True, max_length=40)
    licence_id: str = Field(foreign_key="licence.id", max_length=40)
    # Copied from the licence, so the holder's and the auditor's reads need no join.
    consent_id: str = Field(max_length=40)
    holder_id: str = Field(max_length=40)
    studio_id: str = Field(max_length=40)
    output_sha256: str = Field(max_length=64)
    media_type: str = Field(max_length=129)
    duration_ms: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    width: int | None = Field(default=None)
    height: int | None = Field(default=None)
    attribute: str = Field(max_length=64)
    purpose: str = Field(max_length=64)
    territory: str = Field(max_length=64)
    medium: str = Field(max_length=64)
    tool_name: str = Field(max_length=100)
    tool_version: str = Field(max_length=64)
    # When the output was generated (the time the licence was checked at) ...
    used_at: datetime = Field(sa_type=UTCDateTime)
    # ... and when the registry recorded it (the time of its audit event).
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # The audit event that records this usage (the receipt names it too).
    audit_seq: int = Field(sa_column=Column(BigInteger, nullable=False))

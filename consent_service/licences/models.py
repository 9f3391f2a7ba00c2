"""Licences issued under grants, and the status lists their status is published in."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Column, Index, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from consent_service.db import UTCDateTime, utcnow


class LicenceStatus(StrEnum):
    active = "active"
    # Only a suspended grant suspends a licence, so resuming the grant makes exactly the
    # suspended licences active again; a licence revoked on its own stays revoked.
    suspended = "suspended"
    revoked = "revoked"


class StatusList(SQLModel, table=True):
    """One status list (`GET /v1/status-lists/{id}`); its bits come from the licence table."""

    __tablename__ = "status_list"

    id: str = Field(primary_key=True, max_length=40)
    # Creation order; unique so that two requests creating "the next list" at once collide
    # and one of them uses the other's list instead.
    seq: int = Field(unique=True)
    size: int
    bits: int
    # Indexes handed out; the list takes no more than `capacity` (half its size).
    allocated: int = Field(default=0)
    capacity: int
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Licence(SQLModel, table=True):
    __tablename__ = "licence"
    __table_args__ = (
        UniqueConstraint("status_list_id", "status_list_index", name="uq_licence_status_slot"),
        Index("ix_licence_studio_created", "studio_id", "created_at", "id"),
        Index("ix_licence_holder_created", "holder_id", "created_at", "id"),
        Index("ix_licence_list_status", "status_list_id", "status"),
    )

    id: str = Field(primary_key=True, max_length=40)
    consent_id: str = Field(foreign_key="consent_grant.id", index=True, max_length=40)
    holder_id: str = Field(foreign_key="holder.id", max_length=40)
    studio_id: str = Field(foreign_key="organization.id", max_length=40)
    scope: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    valid_from: datetime = Field(sa_type=UTCDateTime)
    valid_until: datetime = Field(sa_type=UTCDateTime)
    status: str = Field(default=LicenceStatus.active.value, max_length=16)
    status_list_id: str = Field(foreign_key="status_list.id", max_length=40)
    status_list_index: int
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    status_changed_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # Why the licence is no longer active: "licence_revoked" (on its own) or
    # "consent_withdrawn" / "consent_revoked" / "consent_expired" / "consent_ended_by_death"
    # (cascade from the grant).
    revocation_cause: str | None = Field(default=None, max_length=32)
    # The reason given for revoking the licence on its own: free text, encrypted under the
    # holder's data key (AAD licence/<id>/revocation_reason). The clear column holds only a
    # reason written before migration 0011 (erasure clears it); new rows leave it null.
    revocation_reason: str | None = Field(default=None, max_length=500)
    revocation_reason_enc: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    revoked_by: str | None = Field(default=None, max_length=40)

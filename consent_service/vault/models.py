"""Reference objects: metadata in the database, ciphertext in the storage backend."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, Column, Index, LargeBinary
from sqlmodel import Field, SQLModel

from consent_service.db import UTCDateTime, utcnow


class Reference(SQLModel, table=True):
    """One uploaded reference (photo, voice sample, video) of a holder.

    `wrapped_key` is the object's own AES-256 key, encrypted under the holder's data key with
    associated data naming holder and object; the object itself is in storage under
    `storage_name`. Deleting a reference (or erasing the holder) clears the wrapped key and the
    content HMAC and keeps the row as a tombstone (its id appears in audit events).
    """

    __tablename__ = "reference"
    __table_args__ = (Index("ix_reference_holder_id_content_hmac", "holder_id", "content_hmac"),)

    id: str = Field(primary_key=True, max_length=40)
    holder_id: str = Field(foreign_key="holder.id", index=True, max_length=40)
    attribute: str = Field(max_length=16)  # "face" | "voice" | "body"
    content_type: str = Field(max_length=32)
    # Size of the cleaned content (what a download returns) and of the stored ciphertext.
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    stored_size: int = Field(sa_column=Column(BigInteger, nullable=False))
    stripped_metadata: list[str] = Field(default_factory=list, sa_column=Column(JSON))
    storage_name: str = Field(max_length=100)
    # Keyed HMAC-SHA256 (service key "content-hmac") of the cleaned content: duplicates.
    content_hmac: str | None = Field(default=None, max_length=64)
    wrapped_key: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    deleted_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

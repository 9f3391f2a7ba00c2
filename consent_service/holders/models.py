"""Identity holders. Every personal field is ciphertext under the holder's own data key."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, LargeBinary
from sqlmodel import Field, SQLModel

from consent_service.db import UTCDateTime, utcnow


class Holder(SQLModel, table=True):
    __tablename__ = "holder"

    id: str = Field(primary_key=True, max_length=40)
    # ISO 3166-1 alpha-2 or ISO 3166-2; needed in clear by the consent rules (CA/NY/TN law).
    jurisdiction: str = Field(max_length=6)
    # IANA time zone in which the holder reads dates (notices, portal); None reads as UTC.
    time_zone: str | None = Field(default=None, max_length=64)
    # The language the holder reads notices in (en, es, fr); None: the request's own language.
    language: str | None = Field(default=None, max_length=8)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # Set by erasure: the row stays as a tombstone, the ciphertexts below become unreadable.
    erased_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # When the death was recorded with evidence (flows/death.py); the date itself is below,
    # encrypted. Migration 0009 sets it for holders registered dead before that flow existed.
    death_recorded_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

    legal_name_enc: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    stage_name_enc: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    email_enc: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    date_of_birth_enc: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    date_of_death_enc: bytes | None = Field(default=None, sa_column=Column(LargeBinary))

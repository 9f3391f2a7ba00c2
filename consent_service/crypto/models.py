"""Tables of wrapped keys in the data database. No key is ever stored in clear.

Holders' data keys are not here: they live in the key store (keystore.py).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, LargeBinary
from sqlmodel import Field, SQLModel

from consent_service.db import UTCDateTime, utcnow


class ServiceKey(SQLModel, table=True):
    """A service-wide secret (e.g. the blind-index key), wrapped by the master key."""

    __tablename__ = "service_key"

    purpose: str = Field(primary_key=True, max_length=64)
    wrapped: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class SigningKey(SQLModel, table=True):
    """An ES256 key pair; the private half wrapped by the master key."""

    __tablename__ = "signing_key"

    kid: str = Field(primary_key=True, max_length=64)
    public_jwk: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    private_wrapped: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # The newest activated key signs; older keys stay published so old tokens keep verifying.
    activated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    # Set only when a key is withdrawn from the JWKS (compromise); tokens it signed then fail.
    withdrawn_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

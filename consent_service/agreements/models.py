"""Collective agreements: the registry's own list of union agreements an admin maintains.

No personal data: an agreement is named by its title and its union.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Field, SQLModel

from consent_service.db import UTCDateTime, utcnow


class CollectiveAgreement(SQLModel, table=True):
    __tablename__ = "collective_agreement"

    id: str = Field(primary_key=True, max_length=40)
    name: str = Field(max_length=200)
    union: str = Field(max_length=200)
    # Whether the agreement expressly covers digital replicas: only then does union cover lift
    # the adult term cap (CONSENT_RULES.md, "What a grant must contain").
    covers_replicas: bool
    valid_from: date
    valid_until: date
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

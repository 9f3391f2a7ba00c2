"""Representatives: guardians, agents, executors and attorneys acting for a holder."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, LargeBinary
from sqlmodel import Field, SQLModel

from consent_service.db import UTCDateTime, utcnow


class Representative(SQLModel, table=True):
    """A person with recorded authority to act for one holder, within its `kind`.

    Name, email and the authority evidence are personal data: ciphertext under the holder's
    data key, so the holder's erasure shreds them too.
    """

    __tablename__ = "representative"

    id: str = Field(primary_key=True, max_length=40)
    holder_id: str = Field(foreign_key="holder.id", index=True, max_length=40)
    kind: str = Field(max_length=16)  # "guardian" | "agent" | "executor" | "attorney"
    name_enc: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    email_enc: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    authority_enc: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    # Executors record the end of the holder's post-mortem rights and who established it
    # ({"registry": ..., "reference": ...}); needed in clear by the consent rules.
    post_mortem_rights_until: date | None = None
    post_mortem_authority: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)

"""Response bodies for deletion acknowledgements."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class AcknowledgementOut(BaseModel):
    licence_id: str
    studio_id: str
    holder_id: str
    cause: str = Field(
        description="What ended the licence: consent_withdrawn, licence_revoked, holder_erased, ..."
    )
    due_since: datetime
    acknowledged_at: datetime | None = Field(
        default=None, description="Null while the acknowledgement is still owed"
    )
    status: str = Field(description="`open` or `acknowledged`")


class AcknowledgementPage(BaseModel):
    items: list[AcknowledgementOut]
    next_cursor: str | None = None

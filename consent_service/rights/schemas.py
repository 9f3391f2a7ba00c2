"""Response bodies of the holder-rights routes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel


class Erased(BaseModel):
    id: str
    erased_at: datetime

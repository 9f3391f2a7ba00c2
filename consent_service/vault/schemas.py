"""Response bodies of the vault (the upload itself is multipart, parsed in upload.py)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field


class Attribute(StrEnum):
    face = "face"
    voice = "voice"
    body = "body"


class ReferenceOut(BaseModel):
    id: str
    holder_id: str
    attribute: Attribute
    content_type: str
    size: int = Field(description="Bytes of the cleaned content, as a download returns it")
    stripped_metadata: list[str] = Field(
        description="What de-identification removed (e.g. exif.gps, id3v2, mp4_udta)"
    )
    created_at: datetime
    duplicate: bool = Field(
        default=False,
        description="True when this exact content was already stored for this holder and "
        "attribute: the existing reference is returned and nothing new is stored",
    )

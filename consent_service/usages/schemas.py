"""Request and response bodies for usages (`POST /v1/licences/{id}/usages` and the reads)."""

from __future__ import annotations

from datetime import datetime

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, model_validator

MAX_BATCH = 1000
_TERM = Field(min_length=1, max_length=64)
# Tool names and versions are identifiers (`comfyui`, `2.1.0+cu121`), not free text: no spaces,
# so a sentence (or a name) does not fit in them, and they may go into the audit log.
_TOOL_TOKEN = r"^[A-Za-z0-9][A-Za-z0-9._+:/@~-]*$"
# RFC 6838 type/subtype, lower case.
_MEDIA_TYPE = r"^[a-z0-9][a-z0-9!#$&^_.+-]{0,63}/[a-z0-9][a-z0-9!#$&^_.+-]{0,63}$"


class UsageUse(BaseModel):
    """The use made of the likeness: one value of each scope dimension of the licence."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    attribute: str = Field(min_length=1, max_length=64, examples=["face"])
    purpose: str = Field(min_length=1, max_length=64, examples=["film_tv"])
    territory: str = Field(min_length=1, max_length=64, examples=["GB"])
    medium: str = Field(min_length=1, max_length=64, examples=["streaming"])


class UsageTool(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=100, pattern=_TOOL_TOKEN, examples=["comfyui"])
    version: str = Field(min_length=1, max_length=64, pattern=_TOOL_TOKEN, examples=["0.3.10"])


class UsageIn(BaseModel):
    """One generated output. Give `duration_ms` (audio, video) or `width` and `height`
    (images, video), or both."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    # Checked by the service (its own problem code, `output_hash_invalid`, naming the entry).
    output_sha256: str = Field(
        max_length=128, description="SHA-256 of the output file: 64 hex characters"
    )
    media_type: str = Field(max_length=129, pattern=_MEDIA_TYPE, examples=["video/mp4"])
    duration_ms: int | None = Field(default=None, ge=0, le=10**12)
    width: int | None = Field(default=None, ge=1, le=1_000_000)
    height: int | None = Field(default=None, ge=1, le=1_000_000)
    use: UsageUse
    tool: UsageTool
    at: AwareDatetime | None = Field(
        default=None, description="When the output was generated; default: when recorded"
    )

    @model_validator(mode="after")
    def _has_a_size(self) -> UsageIn:
        if (self.width is None) != (self.height is None):
            raise ValueError("give width and height together")
        if self.duration_ms is None and self.width is None:
            raise ValueError("give duration_ms, or width and height")
        return self


class UsageBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    usages: list[UsageIn] = Field(min_length=1, max_length=MAX_BATCH)


class UsageRecord(BaseModel):
    id: str
    licence_id: str
    consent_id: str
    holder_id: str
    studio_id: str
    output_sha256: str
    media_type: str
    duration_ms: int | None = None
    width: int | None = None
    height: int | None = None
    use: UsageUse
    tool: UsageTool
    used_at: datetime
    recorded_at: datetime
    audit_seq: int


class UsageRecorded(UsageRecord):
    receipt: str = Field(description="The signed usage receipt (compact JWS, usage-receipt+jwt)")


class UsagesRecorded(BaseModel):
    licence_id: str
    usages: list[UsageRecorded]

"""Request and response bodies for licences, verification and status lists."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

_TERM = Field(min_length=1, max_length=64)


class LicenceScope(BaseModel):
    """What the licence allows; each list must be a subset of the grant's."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    attributes: list[str] = Field(min_length=1, max_length=8, examples=[["face"]])
    purposes: list[str] = Field(min_length=1, max_length=16, examples=[["film_tv"]])
    territories: list[str] = Field(min_length=1, max_length=300, examples=[["GB", "IE"]])
    media: list[str] = Field(min_length=1, max_length=16, examples=[["streaming"]])
    project: str | None = Field(
        default=None, min_length=1, max_length=200, description="Defaults to the grant's project"
    )


class LicenceIssue(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    consent_id: str = Field(min_length=1, max_length=64)
    scope: LicenceScope
    valid_from: AwareDatetime | None = Field(
        default=None, description="Default: now, or the grant's start if later"
    )
    valid_until: AwareDatetime | None = Field(
        default=None, description="Default: the grant's end; never after it"
    )


class StatusListReference(BaseModel):
    uri: str
    idx: int


class LicenceIssued(BaseModel):
    id: str
    token: str
    status: str
    consent_id: str
    valid_from: datetime
    expires_at: datetime
    status_list: StatusListReference


class LicenceRecord(BaseModel):
    id: str
    consent_id: str
    holder_id: str
    studio_id: str
    scope: dict[str, Any]
    # "active" | "suspended" | "revoked" | "expired" (active, but past its end)
    status: str
    valid_from: datetime
    expires_at: datetime
    issued_at: datetime
    status_changed_at: datetime
    revocation_cause: str | None = None
    status_list: StatusListReference


class LicenceRevoke(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: str = Field(min_length=1, max_length=500)


class ProposedUseBody(BaseModel):
    """A use a tool is about to make; only the fields given are checked."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    attribute: str | None = Field(default=None, max_length=64, examples=["face"])
    purpose: str | None = Field(default=None, max_length=64, examples=["film_tv"])
    territory: str | None = Field(default=None, max_length=64, examples=["GB"])
    medium: str | None = Field(default=None, max_length=64, examples=["streaming"])
    project: str | None = Field(default=None, max_length=200)
    categories: list[str] = Field(
        default_factory=list,
        max_length=32,
        description="Content categories of the output, checked against prohibited uses",
    )
    at: AwareDatetime | None = Field(
        default=None, description="When the use happens (time checks); default now"
    )


class VerifyRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # No length limit here: any string gets a verdict (MALFORMED when it is not a licence).
    token: str
    use: ProposedUseBody | None = None
    audience: str | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        examples=["org_3x7kq2mz5p4vw6ny8rtd2hbc"],
        description="The checking organisation's id: a licence issued to another organisation "
        "answers AUDIENCE_MISMATCH (the licence's `aud` claim is its studio's organisation id)",
    )
    min_assurance: Literal["self_asserted", "document_verified", "liveness_verified"] | None = (
        Field(
            default=None,
            description="Least holder identity assurance the licence must carry "
            "(INSUFFICIENT_ASSURANCE when lower or not stated)",
        )
    )


class VerifyResponse(BaseModel):
    valid: bool
    code: str
    detail: str
    licence_id: str | None = None
    holder_id: str | None = None
    studio_id: str | None = None
    consent_id: str | None = None
    scope: dict[str, Any] | None = None
    expires_at: datetime | None = None
    checked_at: datetime
    use_checked: bool = False
    holder_assurance: str | None = Field(
        default=None,
        description="The holder's identity assurance when the licence was issued (its "
        "`holder_assurance` claim; None on licences issued before the claim existed)",
    )

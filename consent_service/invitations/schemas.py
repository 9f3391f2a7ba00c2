"""Request and response bodies of the invitation routes."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from consent_service.consents.notice import DEFAULT_LANGUAGE
from consent_service.consents.schemas import Terms
from consent_service.verification.levels import Assurance


class InvitedRequest(BaseModel):
    """The consent request made once the person accepts (its rules are checked then)."""

    model_config = ConfigDict(extra="forbid")

    terms: Terms
    language: str = Field(default=DEFAULT_LANGUAGE, pattern=r"^[a-z]{2}(-[A-Z]{2})?$")
    min_assurance: Assurance | None = None


class InvitationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=1, max_length=320, description="The person's address")
    consent_request: InvitedRequest | None = Field(
        default=None, description="Terms to ask consent for once the person accepts"
    )
    expires_in_days: int = Field(default=14, ge=1, le=30)


class InvitationOut(BaseModel):
    id: str
    status: Literal["pending", "accepted", "declined", "withdrawn", "expired"]
    created_at: datetime
    expires_at: datetime
    ended_at: datetime | None = None
    has_consent_request: bool
    holder_id: str | None = Field(default=None, description="Only once accepted")
    consent_request_id: str | None = Field(default=None, description="Only once accepted")


class InvitationToken(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=1, max_length=128)


class InvitationAccepted(BaseModel):
    invitation_id: str
    studio_id: str
    consent_request_id: str | None = None

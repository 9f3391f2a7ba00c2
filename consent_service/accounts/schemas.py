"""Request and response bodies for accounts."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, EmailStr, Field


class OrganizationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200)
    kind: Literal["studio", "auditor"]


class OrganizationOut(BaseModel):
    id: str
    name: str
    kind: str
    created_at: datetime


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200)
    expires_at: AwareDatetime | None = Field(
        default=None,
        description="When the key stops working (a future time with its UTC offset). Default: "
        "an auditor's key CONSENT_AUDITOR_KEY_TTL_DAYS from now (365), a studio's never",
    )


class ApiKeyCreated(BaseModel):
    id: str
    name: str
    organization_id: str | None
    role: str
    key: str = Field(description="Shown only in this response; store it now")
    created_at: datetime
    expires_at: datetime | None = Field(description="After this the key is refused (401)")


class ApiKeyOut(BaseModel):
    id: str
    name: str
    organization_id: str | None
    role: str
    key_prefix: str
    created_at: datetime
    revoked_at: datetime | None
    expires_at: datetime | None


class TokenOut(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int


class VerifierCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200, description="Who the key is for")
    email: EmailStr = Field(
        max_length=320,
        description="The verifier's own email; kept only as a blind index, to stop them "
        "reviewing a case about themselves or a holder they represent",
    )
    expires_at: AwareDatetime | None = Field(
        default=None,
        description="When the key stops working (a future time with its UTC offset); "
        "default: never",
    )


class AuditorCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    organization_id: str = Field(
        min_length=1, max_length=40, description="An organization of kind 'auditor'"
    )
    email: EmailStr = Field(
        max_length=320,
        description="The auditor's sign-in email; kept only as a blind index",
    )


class AuditorOut(BaseModel):
    id: str
    organization_id: str
    created_at: datetime
    disabled_at: datetime | None = None


class AuditorCreated(AuditorOut):
    initial_password: str = Field(
        description="Shown only in this response: give it to the auditor, who changes it "
        "after signing in (POST /v1/holders/me/password)"
    )


class TotpEnrolment(BaseModel):
    secret: str = Field(description="Base32 secret, for an authenticator app without a camera")
    provisioning_uri: str = Field(description="otpauth:// URI, usually shown as a QR code")


class TotpCode(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    code: str = Field(pattern=r"^[0-9]{6}$", description="The current 6-digit code")


class TotpEnabled(BaseModel):
    status: Literal["totp_enabled"] = "totp_enabled"

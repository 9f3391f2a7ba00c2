"""Request and response bodies for holders."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Literal
from zoneinfo import available_timezones

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator, model_validator

from consent_service.consents.rules import is_jurisdiction
from consent_service.db import utcnow


class HolderStatus(StrEnum):
    living_adult = "living_adult"
    minor = "minor"
    deceased = "deceased"


class HolderRegister(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    legal_name: str = Field(min_length=1, max_length=200)
    email: EmailStr = Field(max_length=320)
    password: str = Field(min_length=12, max_length=256, description="At least 12 characters")
    date_of_birth: date
    jurisdiction: str = Field(
        min_length=2,
        max_length=6,
        examples=["GB", "US-CA"],
        description="ISO 3166-1 alpha-2 country or ISO 3166-2 subdivision code, upper case",
    )
    stage_name: str | None = Field(default=None, min_length=1, max_length=200)
    time_zone: str | None = Field(
        default=None,
        max_length=64,
        examples=["Europe/London"],
        description="IANA time zone in which notices and the portal show you dates (default UTC)",
    )
    language: Literal["en", "es", "fr"] | None = Field(
        default=None,
        description="The language you read notices in (default: the language the studio "
        "asked in); every notice is available in each of these",
    )
    date_of_death: date | None = Field(
        default=None,
        description="Refused (422 deceased_self_registration): a deceased person is registered "
        "only by their executor, through POST /v1/estates, and the death recorded with evidence",
        json_schema_extra={"deprecated": True},
    )

    @field_validator("jurisdiction")
    @classmethod
    def _real_iso_code(cls, value: str) -> str:
        # A real ISO 3166-1 / 3166-2 code from the pycountry data, not a look-alike: the
        # consent rules (CA, NY, TN law; post-mortem periods) key on it. (ISO)
        if not is_jurisdiction(value):
            raise ValueError(
                "jurisdiction must be an ISO 3166-1 alpha-2 country code (GB) or an ISO 3166-2 "
                "subdivision code (US-CA), upper case"
            )
        return value

    @field_validator("time_zone")
    @classmethod
    def _known_time_zone(cls, value: str | None) -> str | None:
        if value is not None and value not in available_timezones():
            raise ValueError("time_zone must be an IANA time zone name, like Europe/London")
        return value

    @model_validator(mode="after")
    def _dates_make_sense(self) -> HolderRegister:
        today = utcnow().date()
        if self.date_of_birth > today:
            raise ValueError("date_of_birth is in the future")
        if self.date_of_birth < date(1880, 1, 1):
            raise ValueError("date_of_birth is before 1880")
        # date_of_death is refused by the service with its own code (deceased_self_registration).
        return self


VERIFICATION_DESCRIPTION = (
    "Identity assurance, computed from reviewed evidence: self_asserted, document_verified or "
    "liveness_verified (the same value as `assurance`, under the name the API first used)"
)


class HolderRegistered(BaseModel):
    id: str
    status: HolderStatus
    verification: str = Field(description=VERIFICATION_DESCRIPTION)
    created_at: datetime


class RegistrationAccepted(BaseModel):
    """The answer to a self sign-up, the same whether or not the address was registered."""

    status: str = Field(default="check_your_email", examples=["check_your_email"])
    detail: str = Field(
        default=(
            "If this address can be registered, we sent it a link to confirm it. Sign in with "
            "your email and password; confirm the address before giving any consent. If the "
            "address already has an account, its owner was told by mail."
        )
    )


class HolderPublic(BaseModel):
    """What a studio with a request or grant for the holder may see."""

    id: str
    status: HolderStatus
    verification: str = Field(description=VERIFICATION_DESCRIPTION)
    assurance: str = Field(
        description="Identity assurance: self_asserted, document_verified or liveness_verified"
    )


class HolderRecord(BaseModel):
    """The full record: for the holder themself and for admins."""

    id: str
    legal_name: str
    stage_name: str | None
    email: str
    date_of_birth: date
    date_of_death: date | None
    jurisdiction: str
    status: HolderStatus
    verification: str = Field(description=VERIFICATION_DESCRIPTION)
    assurance: str = Field(
        description="Identity assurance: self_asserted, document_verified or liveness_verified"
    )
    created_at: datetime


class HolderMe(HolderRecord):
    """`GET /v1/holders/me`: the signed-in holder's own record, and the state of their login."""

    email_confirmed: bool = Field(
        description="False until the mailed confirmation link is followed; no consent before"
    )

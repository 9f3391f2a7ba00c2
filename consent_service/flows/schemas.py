"""Request and response bodies for the death recording and estate registration flows."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict, EmailStr, Field, field_validator, model_validator

from consent_service.consents.rules import is_jurisdiction
from consent_service.db import utcnow
from consent_service.representatives.schemas import AuthorityEvidence, PostMortemRights


class EstateDeceased(BaseModel):
    """The deceased person, as the executor knows them (the death comes later, with evidence)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    legal_name: str = Field(min_length=1, max_length=200)
    stage_name: str | None = Field(default=None, min_length=1, max_length=200)
    date_of_birth: date
    jurisdiction: str = Field(
        min_length=2,
        max_length=6,
        examples=["US-CA"],
        description="ISO 3166-1 alpha-2 country or ISO 3166-2 subdivision code: the law of "
        "the post-mortem rights",
    )

    @field_validator("jurisdiction")
    @classmethod
    def _real_iso_code(cls, value: str) -> str:
        if not is_jurisdiction(value):  # (ISO) as for holder registration
            raise ValueError(
                "jurisdiction must be an ISO 3166-1 alpha-2 country code (GB) or an ISO 3166-2 "
                "subdivision code (US-CA), upper case"
            )
        return value

    @model_validator(mode="after")
    def _born_in_the_past(self) -> EstateDeceased:
        if self.date_of_birth > utcnow().date():
            raise ValueError("date_of_birth is in the future")
        if self.date_of_birth < date(1880, 1, 1):
            raise ValueError("date_of_birth is before 1880")
        return self


class EstateExecutor(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200)
    email: EmailStr = Field(max_length=320)
    password: str = Field(min_length=12, max_length=256, description="The executor's password")
    authority_evidence: AuthorityEvidence
    post_mortem_rights: PostMortemRights | None = Field(
        default=None,
        description="Optional: an end of the post-mortem rights the estate established; it "
        "may shorten the law's period, never lengthen it",
    )


class EstateRegister(BaseModel):
    model_config = ConfigDict(extra="forbid")

    deceased: EstateDeceased
    executor: EstateExecutor


class EstateRegistered(BaseModel):
    holder_id: str
    executor_id: str
    death_recorded: bool = Field(description="False until the executor records the death")
    next_steps: list[str]


class DeathCase(BaseModel):
    id: str
    status: str = Field(description="approved (recorded by a verifier) or pending (by an executor)")


class DeathRecordedOut(BaseModel):
    holder_id: str
    status: str = Field(description="deceased")
    date_of_death: date
    recorded_by: str = Field(description="verifier or executor")
    death_case: DeathCase
    ended_consents: list[str] = Field(description="Grants ended as ended_by_death")
    cut_consents: list[str] = Field(
        description="Grants with survives_death: true, valid_until cut to the post-mortem end"
    )
    post_mortem_rights_until: date | None = Field(
        description="The last day of the post-mortem rights (None: the jurisdiction has none)"
    )


class EmailConfirmation(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=1, max_length=128, description="From the mailed link")


class PasswordResetRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    email: EmailStr = Field(max_length=320)


class PasswordReset(BaseModel):
    model_config = ConfigDict(extra="forbid")

    token: str = Field(min_length=1, max_length=128, description="From the mailed link")
    new_password: str = Field(min_length=12, max_length=256, description="At least 12 characters")


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=12, max_length=256, description="At least 12 characters")


class AccountMessage(BaseModel):
    status: str
    detail: str

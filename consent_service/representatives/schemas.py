"""Request and response bodies for representatives."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, model_validator

RepresentativeKind = Literal["guardian", "agent", "executor", "attorney"]


class AuthorityEvidence(BaseModel):
    """What gives the representative authority: a court order, letters testamentary, …"""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    type: Literal[
        "court_order",
        "letters_testamentary",
        "letters_of_administration",
        "power_of_attorney",
        "parental_responsibility",
        "agency_agreement",
    ]
    reference: str = Field(min_length=1, max_length=200, description="Document or case number")
    issued_by: str = Field(min_length=1, max_length=200)
    issued_on: date


class PostMortemRights(BaseModel):
    """The end of a deceased holder's rights and the authority that established it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    until: date
    registry: str = Field(min_length=1, max_length=200, examples=["California Secretary of State"])
    reference: str = Field(min_length=1, max_length=200)


class RepresentativeCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: RepresentativeKind
    name: str = Field(min_length=1, max_length=200)
    email: EmailStr = Field(max_length=320)
    password: str = Field(
        min_length=12, max_length=256, description="The representative's login password"
    )
    authority_evidence: AuthorityEvidence
    post_mortem_rights: PostMortemRights | None = Field(
        default=None, description="Executors only: the end of the post-mortem rights"
    )

    @model_validator(mode="after")
    def _post_mortem_only_for_executors(self) -> RepresentativeCreate:
        if self.post_mortem_rights is not None and self.kind != "executor":
            raise ValueError("post_mortem_rights can only be recorded by an executor")
        return self


class RepresentativeOut(BaseModel):
    id: str
    holder_id: str
    kind: RepresentativeKind
    name: str
    email: str
    authority_evidence: AuthorityEvidence
    post_mortem_rights: PostMortemRights | None
    created_at: datetime

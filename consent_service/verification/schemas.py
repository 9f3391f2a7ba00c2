"""Request and response bodies for verification cases, challenges and assurance."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from consent_service.verification.levels import Assurance


class CaseKind(StrEnum):
    identity_document = "identity_document"
    liveness = "liveness"
    representative_authority = "representative_authority"
    court_approval = "court_approval"
    death = "death"


class CaseStatus(StrEnum):
    pending = "pending"
    approved = "approved"
    rejected = "rejected"
    withdrawn = "withdrawn"


class IdentityDocumentType(StrEnum):
    passport = "passport"
    national_id = "national_id"
    driving_licence = "driving_licence"
    residence_permit = "residence_permit"


class AuthorityDocumentType(StrEnum):
    court_order = "court_order"
    letters_testamentary = "letters_testamentary"
    letters_of_administration = "letters_of_administration"
    grant_of_probate = "grant_of_probate"
    power_of_attorney = "power_of_attorney"
    mandate = "mandate"
    birth_certificate = "birth_certificate"


class ChallengeCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    purpose: str = Field(
        default="liveness",
        max_length=64,
        pattern=r"^(liveness|grant:[a-z]{2,4}_[a-z2-7]{1,40})$",
        description="`liveness`, or `grant:<request id>` for a capture made to accept a request",
    )


class ChallengeOut(BaseModel):
    id: str
    holder_id: str
    purpose: str
    phrase: str = Field(description="Say these words on the capture; shown only in this response")
    expires_at: datetime


class EvidenceOut(BaseModel):
    id: str
    content_type: str
    size: int
    stripped_metadata: list[str]
    content_hmac: str = Field(description="Keyed hash of the cleaned content; kept after deletion")
    deleted: bool
    download: str | None = Field(description="Path to the decrypted content (verifiers only)")
    created_at: datetime


class CaseOut(BaseModel):
    id: str
    kind: CaseKind
    status: CaseStatus
    holder_id: str
    representative_id: str | None
    request_id: str | None
    details: dict[str, Any]
    reason: str | None
    submitted_by: str
    reviewed_by: str | None
    created_at: datetime
    reviewed_at: datetime | None
    withdrawn_at: datetime | None


class CaseSubject(BaseModel):
    """The registration data an identity document, or a recorded death, is checked against."""

    legal_name: str
    date_of_birth: date
    jurisdiction: str
    date_of_death: date | None = Field(
        default=None, description="Death cases only: the date of death as recorded"
    )


class CaseDetail(CaseOut):
    evidence: list[EvidenceOut]
    subject: CaseSubject | None = None
    assurance: Assurance = Field(description="The holder's assurance level now")


class CaseSubmitted(CaseOut):
    evidence: list[EvidenceOut]


class ReviewDecision(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: str = Field(min_length=1, max_length=1000)
    heard_phrase: str | None = Field(
        default=None,
        max_length=200,
        description="Liveness approvals: the words heard on the capture; must match the phrase",
    )


class WithdrawBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: str | None = Field(default=None, max_length=1000)


class CaseStatusOut(BaseModel):
    id: str
    kind: CaseKind
    status: CaseStatus
    reviewed_at: datetime | None


class AssuranceOut(BaseModel):
    holder_id: str
    assurance: Assurance
    cases: list[CaseStatusOut]

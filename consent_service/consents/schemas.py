"""Request and response bodies for consent requests, grants and receipts.

Shape is checked here (pydantic, 422 `validation_error`); the consent *rules* (vocabularies,
description, term length, who signs) are checked in `rules.py` so that each refusal carries the
code of the rule it breaks.
"""

from __future__ import annotations

import datetime as dt
from datetime import UTC, date, datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from consent_service.consents import rules
from consent_service.consents.notice import DEFAULT_LANGUAGE
from consent_service.verification.levels import Assurance

Token = Field(min_length=1, max_length=64)


class Representation(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    kind: Literal["lawyer", "union", "none"]
    terms_initialled: bool | None = Field(default=None, description="lawyer: terms initialled")
    agreement_id: str | None = Field(
        default=None,
        max_length=100,
        description="union: the id of a collective agreement in /v1/collective-agreements",
        examples=["cag_..."],
    )
    covers_replicas: bool | None = Field(
        default=None,
        description="No longer accepted (422 covers_replicas_from_registry): whether the "
        "agreement covers replicas is read from the registry of collective agreements",
        json_schema_extra={"deprecated": True},
    )


class Compensation(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    amount: str | None = Field(default=None, pattern=r"^\d{1,12}(\.\d{1,2})?$", examples=["2500"])
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$", examples=["USD"])
    description: str | None = Field(default=None, max_length=1000)


class Choices(BaseModel):
    """Items of the terms offered as separate choices (in a request) or accepted (at accept)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    attributes: list[str] = Field(default_factory=list, max_length=10, examples=[["voice"]])
    media: list[str] = Field(default_factory=list, max_length=20, examples=[["social_media"]])
    purposes: list[str] = Field(default_factory=list, max_length=20, examples=[["ai_training"]])

    def as_lists(self) -> dict[str, list[str]]:
        return {
            "attributes": sorted(set(self.attributes)),
            "media": sorted(set(self.media)),
            "purposes": sorted(set(self.purposes)),
        }


class Terms(BaseModel):
    """What the studio asks for (API.md `terms`; rules in CONSENT_RULES.md)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    attributes: list[str] = Field(max_length=10, examples=[["face", "voice"]])
    purposes: list[str] = Field(max_length=20, examples=[["film_tv"]])
    intended_use_description: str = Field(max_length=4000)
    project: str = Field(max_length=200)
    territories: list[str] = Field(max_length=260, examples=[["GB", "US"]])
    media: list[str] = Field(max_length=20, examples=[["streaming"]])
    prohibited_uses: list[str] | None = Field(
        default=None,
        max_length=50,
        description=f"Default: {', '.join(rules.DEFAULT_PROHIBITED_USES)}",
    )
    replica_type: str = Field(max_length=40, examples=["employment_based"])
    replaces_in_person_work: bool
    representation: Representation
    compensation: Compensation | None = None
    valid_from: AwareDatetime | date = Field(description="RFC 3339 time or date (00:00 UTC)")
    valid_until: AwareDatetime | date
    optional: Choices | None = Field(
        default=None,
        description="Items of attributes, media and purposes the holder may accept or leave "
        "out one by one (each must be in the terms). `ai_training` is always a separate "
        "choice when asked for, whether listed here or not.",
    )
    survives_death: bool = Field(
        default=False,
        description="Whether the consent outlives the holder: false (default) ends it when the "
        "holder's death is recorded; true keeps it, cut to the end of the post-mortem rights "
        "of the holder's jurisdiction (ended too where there are none). The notice says which.",
    )

    def normalised(self) -> dict[str, Any]:
        """Canonical form stored and rendered: sorted unique lists, UTC times, tidy text."""

        def moment(value: datetime | date) -> str:
            if not isinstance(value, datetime):
                value = rules.start_of_day(value)
            return value.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")

        def items(values: list[str]) -> list[str]:
            return sorted({v.strip() for v in values if v.strip()})

        prohibited = (
            list(rules.DEFAULT_PROHIBITED_USES)
            if self.prohibited_uses is None
            else self.prohibited_uses
        )
        requested = {
            "attributes": items(self.attributes),
            "media": items(self.media),
            "purposes": items(self.purposes),
        }
        optional = rules.separate_choices(
            requested, self.optional.as_lists() if self.optional else None
        )
        normalised: dict[str, Any] = {
            "attributes": items(self.attributes),
            "purposes": items(self.purposes),
            # Stored as the rules judge it (NFKC, no invisible format characters): the holder
            # reads exactly the text that was checked.
            "intended_use_description": rules.normalise_text(self.intended_use_description),
            "project": " ".join(self.project.split()),
            "territories": items([t.upper() for t in self.territories]),
            "media": items(self.media),
            "prohibited_uses": items(prohibited),
            "replica_type": self.replica_type,
            "replaces_in_person_work": self.replaces_in_person_work,
            "representation": self.representation.model_dump(exclude_none=True),
            "compensation": (
                self.compensation.model_dump(exclude_none=True) if self.compensation else None
            ),
            "valid_from": moment(self.valid_from),
            "valid_until": moment(self.valid_until),
            "survives_death": self.survives_death,
        }
        if optional:  # terms without choices keep the shape they had before choices existed
            normalised["optional"] = optional
        return normalised


class ConsentRequestCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    holder_id: str = Field(min_length=1, max_length=40)
    terms: Terms
    language: str = Field(default=DEFAULT_LANGUAGE, pattern=r"^[a-z]{2}(-[A-Z]{2})?$")
    min_assurance: Assurance | None = Field(
        default=None,
        description="The least identity assurance the holder must have to accept "
        "(docs/verification.md); the deployment's floor applies when it is higher",
    )


class WarningOut(BaseModel):
    code: str
    source: str
    message: str


class ChoiceOffered(BaseModel):
    dimension: Literal["attributes", "media", "purposes"]
    item: str
    label: str = Field(description="The item in words, as the notice shows it")
    explanation: str | None = Field(
        default=None, description="Plain-language explanation (always for ai_training)"
    )


class ChoiceRecorded(BaseModel):
    dimension: Literal["attributes", "media", "purposes"]
    item: str
    accepted: bool


class NoticeOut(BaseModel):
    text: str
    sha256: str
    template_version: str
    language: str
    served_at: datetime


class ConsentRequestOut(BaseModel):
    id: str
    holder_id: str
    studio_id: str
    status: Literal["pending", "accepted", "declined"]
    terms: dict[str, Any]
    warnings: list[WarningOut]
    notice: NoticeOut
    translations: list[NoticeOut] = Field(
        default_factory=list,
        description="The same notice in the other languages (same template, rendered at the "
        "same time): the holder may read and accept any of them, quoting its own sha256",
    )
    choices: list[ChoiceOffered] = Field(
        default_factory=list,
        description="The separate choices offered: accept any of them with `choices` when "
        "accepting; the rest of the terms are accepted as a whole",
    )
    created_at: datetime
    decided_at: datetime | None
    decline_reason: str | None = None
    consent_id: str | None = None
    min_assurance: Assurance | None = Field(default=None, description="What the studio asked")
    required_assurance: Assurance = Field(
        description="What accepting needs now: the higher of the request's min_assurance and "
        "the deployment's floor, checked on the holder when the holder signs"
    )


class SignatureIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    signed_name: str = Field(min_length=1, max_length=200)
    method: Literal["typed_name", "click_through", "drawn", "qualified_electronic_signature"]


class CourtApproval(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    court: str = Field(min_length=1, max_length=200)
    case_number: str = Field(min_length=1, max_length=100)
    date: dt.date


class GuardianRef(BaseModel):
    """Optional: names the guardian who signs; it must be the signing representative."""

    model_config = ConfigDict(extra="forbid")

    representative_id: str = Field(min_length=1, max_length=40)


class AcceptBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    notice_sha256: str = Field(pattern=r"^[0-9a-fA-F]{64}$")
    language: str | None = Field(
        default=None,
        pattern=r"^[a-z]{2}(-[A-Z]{2})?$",
        description="The language of the notice you read and accept (one of the request's "
        "`notices`; default: the request's `language`). notice_sha256 is that text's hash; "
        "the hash of the notice in another language is refused (422 notice_language_mismatch)",
    )
    choices: Choices | None = Field(
        default=None,
        description="The offered choices you accept (absent: none of them). Accepting an item "
        "that was not offered is refused (422 choice_not_offered)",
    )
    choices_sha256: str | None = Field(
        default=None,
        pattern=r"^[0-9a-fA-F]{64}$",
        description="Needed when the request offers choices: SHA-256 of the notice hash and "
        "your choices (docs/consent.md, 'Separate choices'); 422 choices_hash_mismatch if "
        "it does not bind exactly this notice and these choices",
    )
    signature: SignatureIn
    guardian: GuardianRef | None = None
    court_approval: CourtApproval | None = None


class DeclineBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: str | None = Field(default=None, max_length=1000)


class ReasonBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    reason: str = Field(min_length=1, max_length=500)


class EmptyBody(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SignatureOut(BaseModel):
    role: str
    method: str
    signed_at: datetime
    evidence_hash: str
    representative_id: str | None = None
    # The level the holder's own signature was checked against (None: a representative with
    # reviewed authority signed), and the holder's level when they signed.
    required_assurance: str | None = None
    holder_assurance: str | None = None


class ConsentOut(BaseModel):
    id: str
    request_id: str
    holder_id: str
    studio_id: str
    status: Literal["active", "withdrawn", "revoked", "suspended", "expired", "ended_by_death"]
    terms: dict[str, Any]
    warnings: list[WarningOut]
    notice_sha256: str
    notice_template_version: str
    language: str
    notice_served_at: datetime
    choices: list[ChoiceRecorded] = Field(
        default_factory=list, description="Each separate choice offered, and the answer"
    )
    choices_sha256: str | None = Field(
        default=None, description="The hash that bound the notice and the choices when signed"
    )
    accepted_at: datetime
    valid_from: datetime
    valid_until: datetime
    holder_status: str
    signature: SignatureOut
    created_at: datetime
    status_changed_at: datetime
    status_reason: str | None

    @field_validator("choices", mode="before")
    @classmethod
    def _no_choices(cls, value: Any) -> Any:
        # Grants made before choices existed (or with none offered) store NULL.
        return [] if value is None else value


class AcceptOut(BaseModel):
    consent: ConsentOut
    receipt: str = Field(description="Signed consent receipt (compact JWS, ES256)")


class StatusChangeOut(BaseModel):
    id: str
    status: str
    revoked_licences: list[str]
    receipt: str = Field(description="Signed consent receipt (compact JWS, ES256)")


class ReceiptOut(BaseModel):
    id: str
    consent_id: str
    consent_state: str
    audit_seq: int
    issued_at: datetime
    receipt: str = Field(description="Compact JWS; verify with /.well-known/jwks.json")
    claims: dict[str, Any]

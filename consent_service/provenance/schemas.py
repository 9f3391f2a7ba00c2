"""The answer of POST /v1/provenance/verify, for the OpenAPI document (check.py builds it)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from consent_service.licences.schemas import VerifyResponse


class ManifestSummary(BaseModel):
    validation_state: str | None = Field(
        description="c2pa-rs's overall state: Trusted, Valid or Invalid"
    )
    trusted: bool = Field(description="The signer chains to a configured trust anchor")
    failures: list[str] = Field(description="C2PA failure codes, e.g. assertion.dataHash.mismatch")
    signer: dict[str, Any]
    digital_source_types: list[str]
    training_mining: dict[str, Any] | None


class ProvenanceVerdictOut(BaseModel):
    valid: bool
    code: str = Field(description="VALID, a licence verdict code, or a file check's code")
    detail: str
    checked_at: datetime
    manifest: ManifestSummary | None
    licence: VerifyResponse | None = Field(description="The embedded licence's verdict")
    usage_receipt: dict[str, Any] | None = Field(
        description="present, checked (it is a JWS), valid, detail, and its claims when valid"
    )
    recorded: dict[str, Any] = Field(
        description="What the manifest records: issuer, licence_id, status_list, use, used_at"
    )

"""Request and response bodies for collective agreements."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, ConfigDict, Field


class AgreementCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str = Field(min_length=1, max_length=200, examples=["2023 TV/Theatrical Agreement"])
    union: str = Field(min_length=1, max_length=200, examples=["SAG-AFTRA"])
    covers_replicas: bool = Field(description="The agreement expressly covers digital replicas")
    valid_from: date
    valid_until: date = Field(description="On or after valid_from (agreement_dates_out_of_order)")


class AgreementUpdate(BaseModel):
    """Only the fields given change; the dates must still be in order afterwards."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    name: str | None = Field(default=None, min_length=1, max_length=200)
    union: str | None = Field(default=None, min_length=1, max_length=200)
    covers_replicas: bool | None = None
    valid_from: date | None = None
    valid_until: date | None = None


class AgreementOut(BaseModel):
    id: str
    name: str
    union: str
    covers_replicas: bool
    valid_from: date
    valid_until: date
    created_at: datetime
    updated_at: datetime

"""Request and response bodies for webhook endpoints and their delivery log."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class EndpointCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    # Checked by the service (own problem codes: invalid_webhook_url, webhook_url_not_allowed).
    url: str = Field(min_length=1, max_length=2000, examples=["https://hooks.example.com/consent"])
    event_types: list[str] = Field(
        min_length=1,
        max_length=32,
        examples=[["consent.withdrawn", "licence.revoked"]],
        description="Event types to receive (unknown ones: unknown_event_type)",
    )


class EndpointOut(BaseModel):
    id: str
    url: str
    event_types: list[str]
    status: str = Field(description="`enabled`, or `disabled` after 3 days of failed deliveries")
    created_at: datetime
    disabled_at: datetime | None = None
    previous_secret_until: datetime | None = Field(
        default=None, description="Until then deliveries also carry a signature by the old secret"
    )


class EndpointWithSecret(EndpointOut):
    secret: str = Field(description="`whsec_...`: shown only now; verify deliveries with it")


class EndpointList(BaseModel):
    items: list[EndpointOut]
    next_cursor: str | None = None


class AttemptOut(BaseModel):
    attempted_at: datetime
    ok: bool
    status_code: int | None = None
    error: str | None = None
    duration_ms: int


class DeliveryOut(BaseModel):
    message_id: str = Field(description="The `webhook-id` header of the delivery")
    event_type: str
    state: str = Field(description="`pending`, `delivered`, `dead` (given up) or `cancelled`")
    created_at: datetime
    next_attempt_at: datetime | None = None
    attempts: list[AttemptOut]


class DeliveryLog(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None = None


class RedeliveryOut(BaseModel):
    message_id: str
    state: str

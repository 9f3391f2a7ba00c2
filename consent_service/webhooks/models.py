"""Webhook endpoints of studios, and the notices sent once (a licence's 7-day expiry warning)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import JSON, Column, Index, LargeBinary
from sqlmodel import Field, SQLModel

from consent_service.db import UTCDateTime, utcnow


class EndpointStatus(StrEnum):
    enabled = "enabled"
    # Given up on after the outbox's max age (3 days of failures): nothing is sent until the
    # organisation enables it again.
    disabled = "disabled"


class WebhookEndpoint(SQLModel, table=True):
    __tablename__ = "webhook_endpoint"
    __table_args__ = (Index("ix_webhook_endpoint_studio_created", "studio_id", "created_at"),)

    id: str = Field(primary_key=True, max_length=40)
    studio_id: str = Field(foreign_key="organization.id", max_length=40)
    url: str = Field(max_length=2000)
    event_types: list[str] = Field(sa_column=Column(JSON, nullable=False))
    # The signing secret (`whsec_...`), AES-GCM under the webhook service key, AAD
    # webhook/<id>/secret. The previous one stays valid until `previous_secret_until`, so a
    # receiver can roll its configuration over without dropping a delivery.
    secret_enc: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    previous_secret_enc: bytes | None = Field(default=None, sa_column=Column(LargeBinary))
    previous_secret_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    status: str = Field(default=EndpointStatus.enabled.value, max_length=16)
    disabled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class NoticeSent(SQLModel, table=True):
    """A notice that must be enqueued once only (e.g. `licence.expiring:<licence id>`)."""

    __tablename__ = "notice_sent"

    key: str = Field(primary_key=True, max_length=120)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

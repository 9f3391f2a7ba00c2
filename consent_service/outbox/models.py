"""Outbox tables: one row per message to send, one row per delivery attempt."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, Index, Integer
from sqlmodel import Field, SQLModel

from consent_service.db import UTCDateTime, utcnow

# BIGSERIAL on PostgreSQL; INTEGER PRIMARY KEY (the rowid, autoincrementing) on SQLite.
_SERIAL = BigInteger().with_variant(Integer(), "sqlite")


class MessageState(StrEnum):
    pending = "pending"  # waiting, leased to a worker, or waiting for its next attempt
    delivered = "delivered"
    dead = "dead"  # gave up after the channel's max_age (the channel's on_dead ran)
    cancelled = "cancelled"  # nothing left to deliver to (endpoint deleted, person erased)


class OutboxMessage(SQLModel, table=True):
    __tablename__ = "outbox_message"
    __table_args__ = (
        # The claim: due pending messages, oldest first, and the oldest pending per destination.
        Index("ix_outbox_message_state_due", "state", "due_at"),
        Index("ix_outbox_message_destination_state_seq", "destination", "state", "seq"),
    )

    # Enqueue order; delivery order within a destination.
    seq: int | None = Field(
        default=None,
        sa_column=Column(_SERIAL, primary_key=True, autoincrement=True),
    )
    # Public, stable id: the `webhook-id` header and the mail's Message-ID local part.
    id: str = Field(unique=True, max_length=40)
    channel: str = Field(max_length=16)  # "webhook" | "mail"
    # What must receive messages in order: a webhook endpoint id, a mail recipient's key.
    destination: str = Field(max_length=80)
    kind: str = Field(max_length=64)  # the event type, e.g. "consent.withdrawn"
    # What the channel needs to build the message at delivery time: ids, never personal data
    # (the channel looks the recipient up, so an erased person's mail is never sent).
    payload: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    state: str = Field(default=MessageState.pending.value, max_length=16)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    due_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # A worker's claim: nobody else delivers the message before this time.
    lease_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    attempts: int = Field(default=0)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class OutboxAttempt(SQLModel, table=True):
    """One delivery attempt (the delivery log an organisation reads for its webhooks)."""

    __tablename__ = "outbox_attempt"
    __table_args__ = (Index("ix_outbox_attempt_message", "message_id", "attempted_at"),)

    id: int | None = Field(
        default=None,
        sa_column=Column(_SERIAL, primary_key=True, autoincrement=True),
    )
    message_id: str = Field(max_length=40)
    attempted_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    ok: bool
    # The receiver's HTTP status or the SMTP reply code, when there was one.
    status_code: int | None = None
    # Why it failed, in a few words (no payload, no personal data), e.g. "timeout".
    error: str | None = Field(default=None, max_length=200)
    duration_ms: int = 0

"""outbox_message and outbox_attempt: the durable outbox of outbound messages

One row per message to send (webhooks, mail), written in the same transaction as the change
that causes it, and one row per delivery attempt (the delivery log). `seq` orders delivery
within a destination; `id` is the message's public id (`webhook-id`, the mail's Message-ID).

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29 20:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SERIAL = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "outbox_message",
        sa.Column("seq", SERIAL, primary_key=True, autoincrement=True),
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("destination", sa.String(length=80), nullable=False),
        sa.Column("kind", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("id", name="uq_outbox_message_id"),
    )
    op.create_index("ix_outbox_message_state_due", "outbox_message", ["state", "due_at"])
    op.create_index(
        "ix_outbox_message_destination_state_seq",
        "outbox_message",
        ["destination", "state", "seq"],
    )
    op.create_table(
        "outbox_attempt",
        sa.Column("id", SERIAL, primary_key=True, autoincrement=True),
        sa.Column("message_id", sa.String(length=40), nullable=False),
        sa.Column("attempted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.String(length=200), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
    )
    op.create_index("ix_outbox_attempt_message", "outbox_attempt", ["message_id", "attempted_at"])


def downgrade() -> None:
    op.drop_index("ix_outbox_attempt_message", table_name="outbox_attempt")
    op.drop_table("outbox_attempt")
    op.drop_index("ix_outbox_message_destination_state_seq", table_name="outbox_message")
    op.drop_index("ix_outbox_message_state_due", table_name="outbox_message")
    op.drop_table("outbox_message")

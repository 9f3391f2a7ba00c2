"""webhook_endpoint, notice_sent and deletion_acknowledgement

Studios' webhook endpoints (the signing secret sealed under a service key), the notices that
are enqueued once only (a licence's 7-day expiry warning), and the deletion acknowledgements
owed by studios that downloaded a holder's references.

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-29 20:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "webhook_endpoint",
        sa.Column("id", sa.String(length=40), primary_key=True),
        sa.Column(
            "studio_id", sa.String(length=40), sa.ForeignKey("organization.id"), nullable=False
        ),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("event_types", sa.JSON(), nullable=False),
        sa.Column("secret_enc", sa.LargeBinary(), nullable=False),
        sa.Column("previous_secret_enc", sa.LargeBinary(), nullable=True),
        sa.Column("previous_secret_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index(
        "ix_webhook_endpoint_studio_created", "webhook_endpoint", ["studio_id", "created_at"]
    )
    op.create_table(
        "notice_sent",
        sa.Column("key", sa.String(length=120), primary_key=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "deletion_acknowledgement",
        sa.Column("licence_id", sa.String(length=40), primary_key=True),
        sa.Column("studio_id", sa.String(length=40), nullable=False),
        sa.Column("holder_id", sa.String(length=40), nullable=False),
        sa.Column("cause", sa.String(length=32), nullable=False),
        sa.Column("due_since", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_reminded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by", sa.String(length=40), nullable=True),
    )
    op.create_index(
        "ix_deletion_ack_holder", "deletion_acknowledgement", ["holder_id", "due_since"]
    )
    op.create_index(
        "ix_deletion_ack_open", "deletion_acknowledgement", ["acknowledged_at", "last_reminded_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_deletion_ack_open", table_name="deletion_acknowledgement")
    op.drop_index("ix_deletion_ack_holder", table_name="deletion_acknowledgement")
    op.drop_table("deletion_acknowledgement")
    op.drop_table("notice_sent")
    op.drop_index("ix_webhook_endpoint_studio_created", table_name="webhook_endpoint")
    op.drop_table("webhook_endpoint")

"""invitation: a studio invites a person by email (issue 12 item 4)

The address is stored sealed (email_sealed) only while the invitation is pending and erased when
it ends; pending_key (blind index of studio and address, NULL once ended) keeps one pending
invitation per address and studio; only the SHA-256 of the mailed token is stored.

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-29 21:15:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "invitation",
        sa.Column("id", sa.String(length=40), primary_key=True),
        sa.Column("studio_id", sa.String(length=40), nullable=False),
        sa.Column("created_by", sa.String(length=40), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("email_sealed", sa.LargeBinary(), nullable=True),
        sa.Column("pending_key", sa.String(length=64), nullable=True),
        sa.Column("token_sha256", sa.String(length=64), nullable=False),
        sa.Column("request_spec", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("holder_id", sa.String(length=40), nullable=True),
        sa.Column("request_id", sa.String(length=40), nullable=True),
        sa.UniqueConstraint("pending_key", name="uq_invitation_pending_key"),
        sa.UniqueConstraint("token_sha256", name="uq_invitation_token_sha256"),
    )
    op.create_index("ix_invitation_studio_created", "invitation", ["studio_id", "created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_invitation_studio_created", table_name="invitation")
    op.drop_table("invitation")

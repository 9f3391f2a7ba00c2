"""licence_usage: the outputs a studio generated under a licence (usage receipts)

One row per recorded usage: the output's SHA-256, media type and size, the use (attribute,
purpose, territory, medium), the tool, when it was generated and recorded, and the sequence
number of the audit event that records it. No personal data.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-29 20:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "licence_usage",
        sa.Column("id", sa.String(length=40), primary_key=True),
        sa.Column("licence_id", sa.String(length=40), sa.ForeignKey("licence.id"), nullable=False),
        sa.Column("consent_id", sa.String(length=40), nullable=False),
        sa.Column("holder_id", sa.String(length=40), nullable=False),
        sa.Column("studio_id", sa.String(length=40), nullable=False),
        sa.Column("output_sha256", sa.String(length=64), nullable=False),
        sa.Column("media_type", sa.String(length=129), nullable=False),
        sa.Column("duration_ms", sa.BigInteger(), nullable=True),
        sa.Column("width", sa.Integer(), nullable=True),
        sa.Column("height", sa.Integer(), nullable=True),
        sa.Column("attribute", sa.String(length=64), nullable=False),
        sa.Column("purpose", sa.String(length=64), nullable=False),
        sa.Column("territory", sa.String(length=64), nullable=False),
        sa.Column("medium", sa.String(length=64), nullable=False),
        sa.Column("tool_name", sa.String(length=100), nullable=False),
        sa.Column("tool_version", sa.String(length=64), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("audit_seq", sa.BigInteger(), nullable=False),
    )
    op.create_index(
        "ix_licence_usage_licence_created", "licence_usage", ["licence_id", "created_at", "id"]
    )
    op.create_index(
        "ix_licence_usage_holder_created", "licence_usage", ["holder_id", "created_at", "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_licence_usage_holder_created", table_name="licence_usage")
    op.drop_index("ix_licence_usage_licence_created", table_name="licence_usage")
    op.drop_table("licence_usage")

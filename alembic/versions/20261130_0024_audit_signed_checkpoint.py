"""audit_signed_checkpoint: the tree heads the registry signed, kept for the auditor's history

One row per tree size, written the first time a checkpoint of that size is signed (JWS and
C2SP signed note). Checkpoints signed before this revision were not kept; the history starts
with the first checkpoint signed after it.

Revision ID: 0024
Revises: 0023
Create Date: 2026-11-30 00:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0024"
down_revision: str | None = "0023"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_signed_checkpoint",
        sa.Column("tree_size", sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column("root_hash", sa.String(length=64), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("signature", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("tree_size", name=op.f("pk_audit_signed_checkpoint")),
    )


def downgrade() -> None:
    op.drop_table("audit_signed_checkpoint")

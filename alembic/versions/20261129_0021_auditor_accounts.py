"""Auditor accounts: people of an auditor organization who sign in, with an optional TOTP
second factor

auditor: one row per person (id, organization, created, disabled); no name or email (the login
keeps the email's blind index). login.totp_secret_sealed: the TOTP secret, AES-GCM sealed under
the service key "totp-seal"; login.totp_confirmed_at: when the first code confirmed it (sign-in
asks for a code from then on). Both NULL for every login made before.

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-29 21:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "auditor",
        sa.Column("id", sa.String(length=40), primary_key=True),
        sa.Column(
            "organization_id",
            sa.String(length=40),
            sa.ForeignKey("organization.id"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_auditor_organization_id", "auditor", ["organization_id"])
    with op.batch_alter_table("login") as batch:
        batch.add_column(sa.Column("totp_secret_sealed", sa.LargeBinary(), nullable=True))
        batch.add_column(sa.Column("totp_confirmed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("login") as batch:
        batch.drop_column("totp_confirmed_at")
        batch.drop_column("totp_secret_sealed")
    op.drop_index("ix_auditor_organization_id", table_name="auditor")
    op.drop_table("auditor")

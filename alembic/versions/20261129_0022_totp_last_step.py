"""TOTP replay protection: the time step of the last code accepted per login

login.totp_last_step: the RFC 6238 time step (Unix time // 30) of the last TOTP code accepted
for the login (at sign-in or when the factor was confirmed); a code of that step or an earlier
one is refused, so a code cannot be used twice (RFC 6238 §5.2). NULL for every login before.

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-29 23:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("login") as batch:
        batch.add_column(sa.Column("totp_last_step", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("login") as batch:
        batch.drop_column("totp_last_step")

"""consent_grant.ending_notice_at, login.email_confirmed_at and login_token: mail to people

`consent_grant.ending_notice_at`: the holder is told once that a consent ends within 30 days.
`login.email_confirmed_at`: set when the owner follows the mailed confirmation link; a holder
gives no consent before it (existing logins count as confirmed: they were made before mail
existed, by the person or an admin, and nobody could confirm them now).
`login_token`: single-use tokens mailed to a login's address (confirmation, password reset),
kept as their SHA-256 only. `login.password_changed_at`: access tokens issued before it are
refused (a reset or change of password signs the other sessions out).

The expiry sweep records `consent.ending_soon` for an active grant ending within 30 days and
sets this column, so that the event (and the mail to the holder that follows from it) happens
once per grant.

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-29 20:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("consent_grant") as batch:
        batch.add_column(sa.Column("ending_notice_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("login") as batch:
        batch.add_column(
            sa.Column("email_confirmed_at", sa.DateTime(timezone=True), nullable=True)
        )
        batch.add_column(
            sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=True)
        )
    op.execute("UPDATE login SET email_confirmed_at = created_at")
    op.create_table(
        "login_token",
        sa.Column("token_sha256", sa.String(length=64), primary_key=True),
        sa.Column("login_id", sa.String(length=40), sa.ForeignKey("login.id"), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_index("ix_login_token_login_id", "login_token", ["login_id"])


def downgrade() -> None:
    op.drop_index("ix_login_token_login_id", table_name="login_token")
    op.drop_table("login_token")
    with op.batch_alter_table("login") as batch:
        batch.drop_column("password_changed_at")
        batch.drop_column("email_confirmed_at")
    with op.batch_alter_table("consent_grant") as batch:
        batch.drop_column("ending_notice_at")

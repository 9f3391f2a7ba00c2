"""api_key.expires_at and revoked_token: API keys that expire, access tokens that sign out

`api_key.expires_at`: after it, a key is refused like an unknown one (NULL: never expires).
New admin and auditor keys get a default expiry (CONSENT_ADMIN_KEY_TTL_DAYS,
CONSENT_AUDITOR_KEY_TTL_DAYS). Existing keys are left without one: setting it here could expire
every key in use at once and lock operators out; docs/operations.md says how to list them and
replace them (`consent-service accounts list-admins`).

`revoked_token`: the JWT ids of access tokens signed out of the portal before their `exp`;
checked on every request that carries an access token, pruned once `expires_at` has passed.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29 19:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("api_key") as batch:
        batch.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "revoked_token",
        sa.Column("jti", sa.String(length=64), primary_key=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_revoked_token_expires_at", "revoked_token", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_revoked_token_expires_at", table_name="revoked_token")
    op.drop_table("revoked_token")
    with op.batch_alter_table("api_key") as batch:
        batch.drop_column("expires_at")

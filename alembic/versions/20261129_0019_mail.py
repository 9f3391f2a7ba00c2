"""consent_grant.ending_notice_at: the holder is told once that a consent ends within 30 days

The expiry sweep records `consent.ending_soon` for an active grant ending within 30 days and
sets this column, so that the event (and the mail to the holder that follows from it) happens
once per grant.

Revision ID: 0019
Revises: 0013
Create Date: 2026-11-29 20:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("consent_grant") as batch:
        batch.add_column(sa.Column("ending_notice_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("consent_grant") as batch:
        batch.drop_column("ending_notice_at")

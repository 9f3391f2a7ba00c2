"""Where a consent was given: consent_grant.collection_channel ("portal" or "api")

The consent receipt's Kantara `collectionMethod` is "<channel>:<signature method>", e.g.
"portal:typed_name". NULL for grants made before this revision (their receipts say
"unrecorded:<method>": the channel was not kept).

Revision ID: 0023
Revises: 0022
Create Date: 2026-11-29 23:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("consent_grant") as batch:
        batch.add_column(sa.Column("collection_channel", sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("consent_grant") as batch:
        batch.drop_column("collection_channel")

"""holder.verification and holder.verified_at dropped: assurance is computed, never typed

Until now an admin could mark a holder `verified` with no evidence (`PUT
/v1/holders/{id}/verification`), and that flag was what studios saw. Identity assurance is now
computed from the verification cases a verifier reviewed (`self_asserted`, `document_verified`,
`liveness_verified`), and the API's `verification` field carries that level. A flag typed by an
admin is evidence of nothing, so it is not carried over: a holder an admin had marked
`verified` is `self_asserted` until a verifier approves their identity document. The audit
events of past admin marks (`holder.verified` / `holder.unverified`) stay in the log.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29 19:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("holder") as batch:
        batch.drop_column("verified_at")
        batch.drop_column("verification")


def downgrade() -> None:
    with op.batch_alter_table("holder") as batch:
        batch.add_column(
            sa.Column(
                "verification", sa.String(length=16), nullable=False, server_default="unverified"
            )
        )
        batch.add_column(sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True))

"""consent_grant.status_reason_enc and licence.revocation_reason_enc: a person's reason sealed

Revocation and suspension reasons are free text that may name a person. From this revision
they are encrypted under the holder's data key (like decline reasons) and so destroyed with
it at erasure: `consent_grant.status_reason_enc` (AAD grant/<id>/status_reason) and
`licence.revocation_reason_enc` (AAD licence/<id>/revocation_reason).

The clear `consent_grant.status_reason` stays for the system's fixed causes ("erasure",
"assurance_lowered", "death of the holder"), which say nothing about anyone. The clear
`licence.revocation_reason` is no longer written.

Rows written before this revision: a migration has no access to the keyring (the master key
and the holder keys are the running service's, and may sit in a KMS or a separate key store),
so it cannot encrypt them. Their clear reasons are left readable as they were, and the
erasure of their holder clears them (rights.service.erase_holder). Nothing new is written in
clear.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29 19:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("consent_grant") as batch:
        batch.add_column(sa.Column("status_reason_enc", sa.LargeBinary(), nullable=True))
    with op.batch_alter_table("licence") as batch:
        batch.add_column(sa.Column("revocation_reason_enc", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    # Sealed reasons cannot be turned back into clear text here (no keyring): they are lost.
    with op.batch_alter_table("licence") as batch:
        batch.drop_column("revocation_reason_enc")
    with op.batch_alter_table("consent_grant") as batch:
        batch.drop_column("status_reason_enc")

"""consent requests may ask for a minimum identity assurance; signatures need evidence

`consent_request.min_assurance` (nullable): existing requests get NULL, i.e. they ask for
nothing beyond the deployment's floor (`CONSENT_MIN_ASSURANCE`), which applies to them at
acceptance like to every request.

Existing data, nothing else to move (issue 10, item 7):
- Existing holders have no verification case, so their level is computed as `self_asserted`;
  nothing is stored for it. Their existing grants recorded no required level, so a later drop
  of assurance never suspends them.
- Existing representatives (guardians, executors, attorneys) have no approved
  `representative_authority` case: from this revision on they can still sign in and read, but
  cannot sign, decline or withdraw for the holder until they upload evidence of their authority
  and a verifier approves it (403 `authority_not_verified`). They need review; the typed
  `authority_evidence` they were created with is not evidence.
- Pending requests for minors need an approved `court_approval` case naming them before a
  guardian can accept (409 `court_approval_not_verified`); a typed court approval no longer is.
- Grants already signed stay as they are (signatures are immutable).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-29 18:20:00.000000
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("consent_request", schema=None) as batch_op:
        batch_op.add_column(sa.Column("min_assurance", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("consent_request", schema=None) as batch_op:
        batch_op.drop_column("min_assurance")

"""holder.death_recorded_at: when a death was recorded (flows/death.py)

Existing data: a holder registered with a date of death before the death recording flow
existed (self-registration accepted `date_of_death` then) is already deceased; its
`death_recorded_at` is set to its registration time, so recording the death again answers
409 `death_already_recorded` and nothing changes for its grants (they were signed by its
executor after death). Grants gain the status `ended_by_death` (a new value of the existing
string column, no schema change) and terms the optional `survives_death` key (JSON; absent in
existing terms means false, and their notices re-render unchanged under template 2026-11-v1).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29 18:30:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("holder") as batch:
        batch.add_column(sa.Column("death_recorded_at", sa.DateTime(timezone=True), nullable=True))
    op.execute(
        "UPDATE holder SET death_recorded_at = created_at "
        "WHERE date_of_death_enc IS NOT NULL AND death_recorded_at IS NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("holder") as batch:
        batch.drop_column("death_recorded_at")

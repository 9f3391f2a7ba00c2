"""Granular consent (consent_grant.choices, choices_sha256), notices in several languages,
the holder's time zone and language

A consent request may offer some attributes, media and purposes as separate choices (and always
offers `ai_training` so). The grant records the holder's answer to each choice (`choices`, JSON
list of {dimension, item, accepted}) and the SHA-256 that bound the notice and those answers
when the holder signed (`choices_sha256`). Both are NULL for grants made before, or made from a
request that offered no choice; their terms are unchanged. The request's offered choices live in
its `terms` JSON (key `optional`), which needs no column.

holder.time_zone: the IANA time zone in which the holder reads dates (notice and portal);
NULL reads as UTC. holder.language: the language the holder reads notices in (en, es, fr);
NULL reads the request's own language.

consent_request.notices: the notice in the other languages, rendered with it
({language: {text, sha256}}); NULL for requests made before.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-29 20:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("consent_grant") as batch:
        batch.add_column(sa.Column("choices", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("choices_sha256", sa.String(length=64), nullable=True))
    with op.batch_alter_table("consent_request") as batch:
        batch.add_column(sa.Column("notices", sa.JSON(), nullable=True))
    with op.batch_alter_table("holder") as batch:
        batch.add_column(sa.Column("time_zone", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("language", sa.String(length=8), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("holder") as batch:
        batch.drop_column("language")
        batch.drop_column("time_zone")
    with op.batch_alter_table("consent_request") as batch:
        batch.drop_column("notices")
    with op.batch_alter_table("consent_grant") as batch:
        batch.drop_column("choices_sha256")
        batch.drop_column("choices")

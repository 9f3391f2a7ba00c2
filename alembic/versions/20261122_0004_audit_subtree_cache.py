"""Audit log: a cache of perfect-subtree hashes (1024 leaves each) for fast tree heads and proofs.

Derived data only; it is filled lazily from audit_event, so dropping it loses nothing.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 00:24:02.581524
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0004'
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('audit_subtree',
    sa.Column('subtree_index', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('root_hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('subtree_index', name=op.f('pk_audit_subtree'))
    )


def downgrade() -> None:
    op.drop_table('audit_subtree')

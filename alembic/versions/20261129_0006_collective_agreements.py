"""collective agreements registry

The registry's own list of union agreements (name, union, covers_replicas, valid dates). A
consent request under union representation names one by id; the consent rules read
`covers_replicas` from here instead of trusting the studio's word.

Existing data: nothing is rewritten. Stored requests and grants keep their terms as signed. A
request still pending whose terms carry a typed `covers_replicas` (or an agreement id that is
not in this table) is refused when someone tries to accept it (`covers_replicas_from_registry`
or `unknown_collective_agreement`); the studio asks again naming a registered agreement. Grants
already accepted keep the term fixed at acceptance.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29 17:50:00
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0006'
down_revision: str | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('collective_agreement',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('union', sa.String(length=200), nullable=False),
    sa.Column('covers_replicas', sa.Boolean(), nullable=False),
    sa.Column('valid_from', sa.Date(), nullable=False),
    sa.Column('valid_until', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_collective_agreement'))
    )
    with op.batch_alter_table('collective_agreement', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_collective_agreement_created_at'), ['created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('collective_agreement', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_collective_agreement_created_at'))

    op.drop_table('collective_agreement')

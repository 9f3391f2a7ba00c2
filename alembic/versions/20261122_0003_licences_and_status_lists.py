"""Licences and status lists (IETF OAuth Token Status List draft).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 00:26:39.747051
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = '0003'
down_revision: str | None = '0002'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('status_list',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('bits', sa.Integer(), nullable=False),
    sa.Column('allocated', sa.Integer(), nullable=False),
    sa.Column('capacity', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_status_list')),
    sa.UniqueConstraint('seq', name=op.f('uq_status_list_seq'))
    )
    op.create_table('licence',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('consent_id', sa.String(length=40), nullable=False),
    sa.Column('holder_id', sa.String(length=40), nullable=False),
    sa.Column('studio_id', sa.String(length=40), nullable=False),
    sa.Column('scope', sa.JSON(), nullable=False),
    sa.Column('valid_from', sa.DateTime(timezone=True), nullable=False),
    sa.Column('valid_until', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('status_list_id', sa.String(length=40), nullable=False),
    sa.Column('status_list_index', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status_changed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revocation_cause', sa.String(length=32), nullable=True),
    sa.Column('revocation_reason', sa.String(length=500), nullable=True),
    sa.Column('revoked_by', sa.String(length=40), nullable=True),
    sa.ForeignKeyConstraint(['consent_id'], ['consent_grant.id'], name=op.f('fk_licence_consent_id_consent_grant')),
    sa.ForeignKeyConstraint(['holder_id'], ['holder.id'], name=op.f('fk_licence_holder_id_holder')),
    sa.ForeignKeyConstraint(['status_list_id'], ['status_list.id'], name=op.f('fk_licence_status_list_id_status_list')),
    sa.ForeignKeyConstraint(['studio_id'], ['organization.id'], name=op.f('fk_licence_studio_id_organization')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_licence')),
    sa.UniqueConstraint('status_list_id', 'status_list_index', name='uq_licence_status_slot')
    )
    with op.batch_alter_table('licence', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_licence_consent_id'), ['consent_id'], unique=False)
        batch_op.create_index('ix_licence_holder_created', ['holder_id', 'created_at', 'id'], unique=False)
        batch_op.create_index('ix_licence_list_status', ['status_list_id', 'status'], unique=False)
        batch_op.create_index('ix_licence_studio_created', ['studio_id', 'created_at', 'id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('licence', schema=None) as batch_op:
        batch_op.drop_index('ix_licence_studio_created')
        batch_op.drop_index('ix_licence_list_status')
        batch_op.drop_index('ix_licence_holder_created')
        batch_op.drop_index(batch_op.f('ix_licence_consent_id'))

    op.drop_table('licence')
    op.drop_table('status_list')

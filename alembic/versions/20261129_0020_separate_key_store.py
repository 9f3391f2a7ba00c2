"""Holders' data keys move from the data database to the key store

Until now the wrapped holder keys (`data_key`) shared the database with the ciphertexts they
protect, so a backup of the data plus the master key restored erased people. They now live in
the key store (consent_service/crypto/keystore.py): a second SQLite file beside the database,
or on PostgreSQL a database of its own (CONSENT_KEYSTORE_URL; created here if missing and the
role may create databases).

Upgrade, safe to repeat after a crash at any point: create `holder_key` in the key store, copy
every key that is not there yet and commit there, then drop `data_key` here (this commits with
the migration; on SQLite `secure_delete` zeroes the freed pages and the WAL is truncated
afterwards, alembic/env.py). Backups made before this migration still carry the keys: see
docs/operations.md. Downgrade copies the keys back and leaves the key store as it is.

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-29 20:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy.engine import make_url

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# A copy of consent_service/crypto/keystore.py's table as of this revision.
_keystore_metadata = sa.MetaData(naming_convention={"pk": "pk_%(table_name)s"})
_holder_key = sa.Table(
    "holder_key",
    _keystore_metadata,
    sa.Column("owner_id", sa.String(40), primary_key=True),
    sa.Column("wrapped", sa.LargeBinary, nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)
_data_key = sa.table(
    "data_key",
    sa.column("owner_id", sa.String(40)),
    sa.column("wrapped", sa.LargeBinary),
    sa.column("created_at", sa.DateTime(timezone=True)),
)


def _keystore_engine() -> sa.Engine:
    url = context.config.attributes["keystore_url"]
    if make_url(url).get_backend_name() == "sqlite":
        from consent_service.db import make_engine  # 0600 file, WAL, secure_delete

        return make_engine(url)
    _create_database_if_missing(url)
    return sa.create_engine(url)


def _create_database_if_missing(url: str) -> None:
    """On PostgreSQL, create the key store's database when it does not exist yet."""
    target = make_url(url)
    server = sa.create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with server.connect() as conn:
            exists = conn.execute(
                sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": target.database}
            ).first()
            if exists is None:
                conn.execute(sa.text(f'CREATE DATABASE "{target.database}"'))
    finally:
        server.dispose()


def upgrade() -> None:
    keystore = _keystore_engine()
    try:
        _holder_key.create(keystore, checkfirst=True)
        rows = op.get_bind().execute(sa.select(_data_key)).mappings().all()
        with keystore.begin() as conn:
            present = set(conn.execute(sa.select(_holder_key.c.owner_id)).scalars())
            missing = [dict(row) for row in rows if row["owner_id"] not in present]
            if missing:
                conn.execute(_holder_key.insert(), missing)
    finally:
        keystore.dispose()
    op.drop_table("data_key")


def downgrade() -> None:
    op.create_table(
        "data_key",
        sa.Column("owner_id", sa.String(length=40), nullable=False),
        sa.Column("wrapped", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("owner_id", name=op.f("pk_data_key")),
    )
    keystore = _keystore_engine()
    try:
        with keystore.connect() as conn:
            rows = [dict(row) for row in conn.execute(sa.select(_holder_key)).mappings()]
        if rows:
            op.bulk_insert(_data_key, rows)
        # The key store's table stays: dropping it here could not be undone if this
        # transaction then rolled back. A later upgrade copies only the keys it lacks, and
        # the startup sweep destroys the keys of holders erased in between.
    finally:
        keystore.dispose()

"""The key store: holders' wrapped data keys, kept apart from the data they protect.

Crypto-shredding (erasing a holder destroys their data key) only holds if a copy of the data
does not carry the key with it. The wrapped keys therefore live in their own database, which
is backed up on its own schedule (docs/operations.md):

- embedded default: a second SQLite file beside the database file (`consent.db` ->
  `consent.keystore.db`, both under the data directory), mode 0600, `secure_delete` on, its
  write-ahead log checkpointed and truncated after every destruction;
- PostgreSQL: a database of its own, `CONSENT_KEYSTORE_URL` (required in production; in
  development `<database>_keystore` on the same server).

Keys are still wrapped by the master key (local key or KMS): a copy of the key store alone
decrypts nothing either.

The key store is not part of a request's transaction. A new key is committed here before the
holder row that uses it (a registration that then rolls back leaves an orphan key, which
`consent-service keys sweep --orphans` removes); a key is destroyed here only after the data commit
that erased its holder, and `rights.service.destroy_keys_of_erased` retries that destruction
(at startup and on demand) so that a crash between the two never leaves a live key behind.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from consent_service.db import (
    DEFERRED_BEGIN,
    NAMING_CONVENTION,
    UTCDateTime,
    make_engine,
    truncate_wal,
    utcnow,
)

# The key store's own schema (never part of the data database's metadata). Migration 0017
# creates it; the table definition there is a copy of this one, as migrations must not import
# application code.
keystore_metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
holder_key = sa.Table(
    "holder_key",
    keystore_metadata,
    sa.Column("owner_id", sa.String(40), primary_key=True),
    sa.Column("wrapped", sa.LargeBinary, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)


def keystore_url_for(database_url: str) -> str:
    """The key store URL derived from the data database's URL (when none is configured).

    SQLite: a second file beside the database file, `<stem>.keystore.db`. PostgreSQL: the
    database `<name>_keystore` on the same server, with the same credentials.
    """
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        database = url.database
        if not database or database == ":memory:" or database.startswith("file:"):
            raise ValueError("an in-memory SQLite database has no place for a key store")
        stem = database[:-3] if database.endswith(".db") else database
        return url.set(database=f"{stem}.keystore.db").render_as_string(hide_password=False)
    if not url.database:
        raise ValueError("the database URL names no database")
    return url.set(database=f"{url.database}_keystore").render_as_string(hide_password=False)


class KeyStore:
    """Wrapped data keys by owner id, in their own database; every call commits at once."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine: Engine = make_engine(url)
        # Reads take no write lock (on SQLite a deferred BEGIN, as for read-only requests).
        self._reader: Engine = self.engine.execution_options(**{DEFERRED_BEGIN: True})

    def put(self, owner_id: str, wrapped: bytes) -> None:
        """Store a new wrapped key (committed before the caller's data transaction)."""
        with self.engine.begin() as conn:
            conn.execute(
                holder_key.insert().values(owner_id=owner_id, wrapped=wrapped, created_at=utcnow())
            )

    def get(self, owner_id: str) -> bytes | None:
        with self._reader.connect() as conn:
            row = conn.execute(
                sa.select(holder_key.c.wrapped).where(holder_key.c.owner_id == owner_id)
            ).first()
        return None if row is None else bytes(row[0])

    def destroy(self, owner_ids: Iterable[str]) -> int:
        """Delete these owners' keys and leave no copy in SQLite's WAL; idempotent."""
        ids = list(owner_ids)
        if not ids:
            return 0
        deleted = 0
        with self.engine.begin() as conn:
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                result = conn.execute(holder_key.delete().where(holder_key.c.owner_id.in_(chunk)))
                deleted += result.rowcount or 0
        # secure_delete zeroed the rows in the pages; the WAL still holds the pages as they
        # were until it is checkpointed and truncated.
        truncate_wal(self.engine)
        return deleted

    def rewrap(self, rewrap: Callable[[bytes, str], bytes]) -> tuple[int, Callable[[], None]]:
        """Re-wrap every stored key with `rewrap(wrapped, owner_id)` in one transaction of the
        key store; (how many, undo). `undo()` writes the old wrappings back: the caller's own
        transaction on the data database cannot commit together with this one, so if it
        fails after this one committed, the caller puts the key store back as it was."""
        with self.engine.begin() as conn:
            rows = [
                (row.owner_id, bytes(row.wrapped))
                for row in conn.execute(sa.select(holder_key.c.owner_id, holder_key.c.wrapped))
            ]
            for owner_id, wrapped in rows:
                conn.execute(
                    holder_key.update()
                    .where(holder_key.c.owner_id == owner_id)
                    .values(wrapped=rewrap(wrapped, owner_id))
                )

        def undo() -> None:
            with self.engine.begin() as conn:
                for owner_id, wrapped in rows:
                    conn.execute(
                        holder_key.update()
                        .where(holder_key.c.owner_id == owner_id)
                        .values(wrapped=wrapped)
                    )

        return len(rows), undo

    def owner_ids(self) -> list[str]:
        with self._reader.connect() as conn:
            return list(conn.execute(sa.select(holder_key.c.owner_id)).scalars())

    def created_before(self, owner_ids: Iterable[str], moment: datetime) -> list[str]:
        """Those of `owner_ids` whose key was stored before `moment`."""
        ids = list(owner_ids)
        found: list[str] = []
        with self._reader.connect() as conn:
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                found.extend(
                    conn.execute(
                        sa.select(holder_key.c.owner_id).where(
                            holder_key.c.owner_id.in_(chunk), holder_key.c.created_at < moment
                        )
                    ).scalars()
                )
        return found

    def check(self) -> str | None:
        """Readiness: None when the key store answers and has its table."""
        try:
            with self._reader.connect() as conn:
                conn.execute(sa.select(sa.func.count()).select_from(holder_key))
        except sa.exc.SQLAlchemyError:
            return "key store unreachable or not migrated"
        return None

    def close(self) -> None:
        self.engine.dispose()

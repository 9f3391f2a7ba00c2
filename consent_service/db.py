"""Database engine and the unit of work.

One request is one transaction: `get_session` (deps.py) yields a session, the route and the
services it calls only `flush()`, and the session commits once when the route has returned,
*before* the response is sent (the dependency is declared with `scope="function"`). A failure
anywhere rolls the whole request back, the audit event with it.

On SQLite a transaction that writes starts with `BEGIN IMMEDIATE` (it takes the database write
lock at once, the counterpart of `SELECT ... FOR UPDATE`). A read-only request must not take
that lock, or every GET would queue behind every write: its session is bound to the engine with
the execution option `DEFERRED_BEGIN`, and starts with a plain (deferred) `BEGIN`, which in WAL
mode reads a snapshot and never blocks a writer nor waits for one (and `PRAGMA query_only`
refuses any write attempted through it).

SQLite's files are private (files.py): the database file is created 0600 before SQLite opens
it, SQLite gives its -wal and -shm files the database file's mode, and every new connection
tightens all three if found looser. Every connection runs with `secure_delete`, so that deleted
content is overwritten with zeros instead of lingering in free pages; after an erasure,
`truncate_wal` checkpoints the write-ahead log into the database and truncates it, so that the
erased rows' old pages do not linger in the WAL either (rights/service.py).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, DateTime, Engine, MetaData, Table, event, insert, text
from sqlalchemy.engine import Dialect, make_url
from sqlalchemy.types import TypeDecorator, TypeEngine
from sqlmodel import Session, SQLModel, create_engine

from consent_service.files import FILE_MODE, create_private_file, tighten

log = logging.getLogger(__name__)

# Stable constraint names so that alembic migrations are identical on SQLite and PostgreSQL.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
SQLModel.metadata.naming_convention = NAMING_CONVENTION
metadata: MetaData = SQLModel.metadata


def utcnow() -> datetime:
    return datetime.now(UTC)


def rfc3339(value: datetime) -> str:
    """RFC 3339 UTC text with microseconds, e.g. `2026-11-22T00:10:19.123456Z`."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite drops the offset on its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# Below this many rows an INSERT costs less than setting up a COPY.
_COPY_FROM_ROWS = 16


def _copy_processor(column_type: TypeEngine[Any], dialect: Dialect) -> Callable[[Any], Any] | None:
    """How COPY needs a value of `column_type`: as an INSERT binds it; JSON as its text (the
    psycopg dialect leaves JSON to a bind cast, which COPY does not have)."""
    if isinstance(column_type, JSON):
        return lambda value: None if value is None else json.dumps(value)
    return column_type.bind_processor(dialect)


def bulk_insert(session: Session, table: Table, rows: list[dict[str, Any]]) -> None:
    """Insert `rows` (dicts with the same keys) into `table` in the session's transaction.

    On PostgreSQL (psycopg) a large batch goes in with one `COPY ... FROM STDIN`, several
    times faster than the pipelined INSERTs of an executemany (the audit log's and the usages'
    batches of a thousand rows); every value first goes through its column type's bind
    processing, exactly as an INSERT would bind it. Elsewhere, one Core executemany.
    """
    if not rows:
        return
    connection = session.connection()
    dialect = connection.dialect
    if dialect.name != "postgresql" or dialect.driver != "psycopg" or len(rows) < _COPY_FROM_ROWS:
        connection.execute(insert(table), rows)
        return
    names = list(rows[0])
    processors = [_copy_processor(table.c[name].type, dialect) for name in names]
    quote = dialect.identifier_preparer.quote
    statement = (
        f"COPY {dialect.identifier_preparer.format_table(table)} "
        f"({', '.join(quote(name) for name in names)}) FROM STDIN"
    )
    cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
    with cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(
                [
                    row[name] if process is None else process(row[name])
                    for name, process in zip(names, processors, strict=True)
                ]
            )


# Execution option: this connection's transactions only read; on SQLite they begin deferred.
DEFERRED_BEGIN = "consent_deferred_begin"


def sqlite_files(url: str) -> tuple[Path, ...]:
    """The database file of a SQLite URL and its -wal and -shm files; () if in memory."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return ()
    path = Path(database)
    return (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm"))


def make_engine(url: str, **kwargs: Any) -> Engine:
    if url.startswith("sqlite"):
        files = sqlite_files(url)
        if files and files[0].parent.is_dir():
            # Before SQLite creates it with the umask's mode; -wal and -shm inherit this mode.
            create_private_file(files[0])
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            **kwargs,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # Let SQLAlchemy issue BEGIN itself so that BEGIN IMMEDIATE below takes effect.
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            # FULL: an acknowledged commit (a withdrawal) survives power loss, not only a crash.
            cur.execute("PRAGMA synchronous=FULL")
            cur.execute("PRAGMA busy_timeout=30000")
            # Deleted rows are overwritten with zeros, not left in free space (erasure).
            cur.execute("PRAGMA secure_delete=ON")
            cur.close()
            for path in files:
                tighten(path, FILE_MODE)

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn: Any) -> None:
            if conn.get_execution_options().get(DEFERRED_BEGIN):
                # A read: a WAL snapshot, no lock. query_only makes a write attempted through
                # it fail loudly instead of racing the serialised writers.
                conn.exec_driver_sql("PRAGMA query_only=ON")
                conn.exec_driver_sql("BEGIN")
                return
            conn.exec_driver_sql("PRAGMA query_only=OFF")
            # Take the write lock at the start: the SQLite counterpart of SELECT ... FOR UPDATE,
            # so that two requests never both read a state and then both change it.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, **kwargs)


def truncate_wal(engine: Engine) -> None:
    """On SQLite, copy the write-ahead log into the database file and truncate it to 0 bytes.

    Called after an erasure commits: the WAL still holds the pages as they were before (the
    holder's wrapped key, their ciphertexts) until it is checkpointed and truncated; the
    checkpoint writes the zeroed pages (`secure_delete`) over them in the database file. It
    waits (busy timeout) for readers of older snapshots. A no-op on other databases.
    """
    if engine.dialect.name != "sqlite":
        return
    raw = engine.raw_connection()
    try:
        cur = raw.cursor()
        # Outside any transaction (the connection is in autocommit mode, see make_engine).
        cur.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        row = cur.fetchone()  # (busy, frames in the log, frames checkpointed)
        cur.close()
    finally:
        raw.close()
    if row is None or row[0]:
        log.warning(
            "WAL checkpoint after erasure was blocked by a reader; erased pages may stay in "
            "the WAL until a later checkpoint"
        )


def check_database(engine: Engine) -> None:
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))
